"""Shows a user took out of Continue watching: the show and when, so that the show comes back
once the user watches any of it again (history.continue_watching). Needed for an entry that
offers the next episode, which has no progress of its own to forget. A migration keeps its
own copy of what it makes."""
import datetime

from peewee import CharField, CompositeKey, DateTimeField, IntegerField, Model


def up(migrator, db):
    class ContinueDismissed(Model):
        user_id = IntegerField()  # no foreign key, as in progress: the household is no user
        show_id = CharField()
        at = DateTimeField(default=datetime.datetime.utcnow)

        class Meta:
            database = db
            table_name = "continue_dismissed"
            primary_key = CompositeKey("user_id", "show_id")

    db.create_tables([ContinueDismissed])
