"""Jellyfin apps' display preferences (haema/jellyfin/system.py): the JSON an app sent for a
user, a preference id ("usersettings", a view's id) and a client ("emby" for jellyfin-web),
kept so a user's home screen and settings survive a restart and reach every node."""
import datetime

from peewee import CharField, CompositeKey, DateTimeField, IntegerField, Model, TextField


def up(migrator, db):
    class DisplayPreference(Model):
        user_id = IntegerField()  # no foreign key, as in progress: the household is no user
        key = CharField()
        client = CharField()
        value = TextField()
        updated_at = DateTimeField(default=datetime.datetime.utcnow)

        class Meta:
            database = db
            table_name = "display_preference"
            primary_key = CompositeKey("user_id", "key", "client")

    db.create_tables([DisplayPreference])
