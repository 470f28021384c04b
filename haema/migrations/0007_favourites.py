"""Favourites: the items a user marked in a Jellyfin app (the heart on a film, series,
season or episode), kept so the app's Favorites row and filters hold them on every node.

A change counts as a change of history (the counter's trigger, as 0002 makes it on
progress), so what the web process keeps of a user's library view is made again. A
migration keeps its own copy of what it makes: it must make the same tables when the
code has moved on."""
import datetime

from peewee import CharField, CompositeKey, DateTimeField, IntegerField, Model, PostgresqlDatabase


def up(migrator, db):
    class Favourite(Model):
        user_id = IntegerField()  # no foreign key, as in progress: the household is no user
        item = CharField()
        created_at = DateTimeField(default=datetime.datetime.utcnow)

        class Meta:
            database = db
            table_name = "favourite"
            primary_key = CompositeKey("user_id", "item")

    db.create_tables([Favourite])
    if isinstance(db, PostgresqlDatabase):
        for event, rows in (("INSERT", "NEW"), ("UPDATE", "NEW"), ("DELETE", "OLD")):
            db.execute_sql(
                f'CREATE OR REPLACE TRIGGER favourite_{event.lower()}_generation AFTER {event} ON "favourite" '
                f"REFERENCING {rows} TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION haema_bump_generation()")
        return
    for event in ("INSERT", "UPDATE", "DELETE"):
        db.execute_sql(
            f'CREATE TRIGGER IF NOT EXISTS favourite_{event.lower()}_generation AFTER {event} ON "favourite" '
            "BEGIN UPDATE generation SET number = number + 1 WHERE id = 1; END")
