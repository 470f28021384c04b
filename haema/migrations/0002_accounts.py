"""Accounts: users, their sessions, the server's signing key, and watch progress that
belongs to a user.

Progress used to be keyed by video alone. A key of (user, video) cannot be added to a
table in place, so the old table is renamed, its rows copied as the household's
(``user_id`` 0; the first admin adopts them, see accounts.add_user), and dropped. The
change counter's trigger goes with the old table and is made again on the new one. A
database where progress already has its user (made by a Haema with accounts before
migrations were recorded) is left as it is.
"""
import datetime

from peewee import (BooleanField, CharField, CompositeKey, DateTimeField, DoubleField, ForeignKeyField, IntegerField,
                    Model, PostgresqlDatabase, TextField)
from playhouse.migrate import migrate

HOUSEHOLD = 0


def up(migrator, db):
    class Base(Model):
        class Meta:
            database = db

    class User(Base):
        name = CharField(unique=True)
        password = CharField()
        admin = BooleanField(default=False)
        created_at = DateTimeField(default=datetime.datetime.utcnow)

    class Session(Base):
        id = CharField(primary_key=True)
        user = ForeignKeyField(User, on_delete="CASCADE")
        token_hash = CharField(unique=True)
        created_at = DateTimeField(default=datetime.datetime.utcnow)
        used_at = DateTimeField(default=datetime.datetime.utcnow)
        address = TextField(default="")
        agent = TextField(default="")

    class Secret(Base):
        name = CharField(primary_key=True)
        value = CharField()

    class Progress(Base):
        user_id = IntegerField()
        video_id = CharField()
        position = DoubleField()
        duration = DoubleField()
        finished = BooleanField(default=False)
        updated_at = DateTimeField(index=True, default=datetime.datetime.utcnow)

        class Meta:
            primary_key = CompositeKey("user_id", "video_id")

    db.create_tables([User, Session, Secret])
    if "user_id" in {column.name for column in db.get_columns("progress")}:
        return
    migrate(migrator.rename_table("progress", "progress_unowned"))
    db.execute_sql("DROP INDEX IF EXISTS progress_updated_at")  # it keeps its name through a rename
    db.create_tables([Progress])
    db.execute_sql("INSERT INTO progress (user_id, video_id, position, duration, finished, updated_at) "
                   f"SELECT {HOUSEHOLD}, video_id, position, duration, finished, updated_at FROM progress_unowned")
    db.execute_sql("DROP TABLE progress_unowned")
    _count_changes(db, "progress")


def _count_changes(db, table):
    """The change counter's trigger on ``table``, as 0001 makes it."""
    if isinstance(db, PostgresqlDatabase):
        for event, rows in (("INSERT", "NEW"), ("UPDATE", "NEW"), ("DELETE", "OLD")):
            db.execute_sql(
                f'CREATE OR REPLACE TRIGGER {table}_{event.lower()}_generation AFTER {event} ON "{table}" '
                f"REFERENCING {rows} TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION haema_bump_generation()")
        return
    for event in ("INSERT", "UPDATE", "DELETE"):
        db.execute_sql(
            f'CREATE TRIGGER IF NOT EXISTS {table}_{event.lower()}_generation AFTER {event} ON "{table}" '
            "BEGIN UPDATE generation SET number = number + 1 WHERE id = 1; END")
