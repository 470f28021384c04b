"""Playback preferences (haema/preferences.py): the audio language, subtitle language and
quality a user last chose, one row a user, so a reload, another browser or a TV app starts
a film the same way."""
import datetime

from peewee import CharField, DateTimeField, IntegerField, Model


def up(migrator, db):
    class PlaybackPreference(Model):
        user_id = IntegerField(primary_key=True)  # no foreign key, as in progress: the household is no user
        audio_language = CharField(null=True)
        subtitle_language = CharField(null=True)
        quality = IntegerField(null=True)
        updated_at = DateTimeField(default=datetime.datetime.utcnow)

        class Meta:
            database = db
            table_name = "playback_preference"

    db.create_tables([PlaybackPreference])
