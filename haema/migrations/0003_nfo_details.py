"""Details from Kodi/Jellyfin .nfo files (nfo.py) on shows and episodes: plot, genres,
rating and the rest, as JSON. A database where a Haema before migrations were recorded
added them already keeps its columns."""
from peewee import TextField
from playhouse.migrate import migrate


def up(migrator, db):
    for table in ("show", "video"):
        if "details" not in {column.name for column in db.get_columns(table)}:
            migrate(migrator.add_column(table, "details", TextField(null=True)))
