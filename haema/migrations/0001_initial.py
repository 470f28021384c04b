"""The schema as it was before migrations were recorded, and its change counter.

Made by ``python -m playhouse.migrations URL initial haema.models``, then trimmed. The
models here are frozen copies, independent of haema/models.py as it changes later.
Everything is created only if missing, so a database made by an older Haema (all
tables and triggers there, no history) adopts this as applied without change.
"""
import datetime

from peewee import (BigIntegerField, BooleanField, CharField, DateTimeField, DoubleField, ForeignKeyField,
                    IntegerField, Model, PostgresqlDatabase, TextField)

COUNTED = ("show", "video", "progress")  # the tables whose changes the web process's caches follow


def up(migrator, db):
    class Base(Model):
        class Meta:
            database = db

    class Generation(Base):
        id = IntegerField(primary_key=True, default=1)
        number = IntegerField()

    class Progress(Base):
        video_id = CharField(primary_key=True)
        position = DoubleField()
        duration = DoubleField()
        finished = BooleanField(default=False)
        updated_at = DateTimeField(index=True, default=datetime.datetime.utcnow)

    class ScanState(Base):
        id = IntegerField(primary_key=True, default=1)
        report = TextField()

    class Show(Base):
        id = CharField(primary_key=True)
        kind = CharField()
        title = TextField()
        sort_title = TextField(index=True)
        year = IntegerField(null=True)
        folder = TextField()
        thumbnail = TextField(null=True)
        banner = TextField(null=True)
        search = TextField()

    class Skipped(Base):
        path = TextField(primary_key=True)
        size = BigIntegerField()
        mtime = DoubleField()
        reason = TextField()

    class Video(Base):
        id = CharField(primary_key=True)
        show = ForeignKeyField(Show, on_delete="CASCADE")
        path = TextField(unique=True)
        size = BigIntegerField()
        mtime = DoubleField()
        season = IntegerField(null=True)
        episode = IntegerField(null=True)
        index = CharField(null=True)
        title = TextField()
        search = TextField()
        duration = DoubleField()
        info = TextField()
        keyframes = TextField(null=True)
        frame = TextField(null=True)

    db.create_tables([Generation, Progress, ScanState, Show, Skipped, Video])
    Generation.insert(id=1, number=0).on_conflict_ignore().execute()
    if isinstance(db, PostgresqlDatabase):
        _postgresql_triggers(db)
    else:
        _sqlite_triggers(db)


def _sqlite_triggers(db):
    """SQLite has row triggers only, with the statement inline."""
    for table in COUNTED:
        for event in ("INSERT", "UPDATE", "DELETE"):
            db.execute_sql(
                f'CREATE TRIGGER IF NOT EXISTS {table}_{event.lower()}_generation AFTER {event} ON "{table}" '
                "BEGIN UPDATE generation SET number = number + 1 WHERE id = 1; END")


def _postgresql_triggers(db):
    """One bump per statement: a scan's bulk delete moves the counter once, not per row.
    And none for a statement that changed no row (a rescan's deletes that match
    nothing), as SQLite's row triggers do: each event's transition table says."""
    db.execute_sql("CREATE OR REPLACE FUNCTION haema_bump_generation() RETURNS trigger LANGUAGE plpgsql AS $$ "
                   "BEGIN IF EXISTS (SELECT 1 FROM changed) THEN "
                   "UPDATE generation SET number = number + 1 WHERE id = 1; END IF; RETURN NULL; END $$")
    for table in COUNTED:  # one trigger per event: a transition table belongs to one
        for event, rows in (("INSERT", "NEW"), ("UPDATE", "NEW"), ("DELETE", "OLD")):
            db.execute_sql(
                f'CREATE OR REPLACE TRIGGER {table}_{event.lower()}_generation AFTER {event} ON "{table}" '
                f"REFERENCING {rows} TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION haema_bump_generation()")
