"""The library index and watch history in SQLite, through peewee.

The folder tree is the truth; ``Show`` and ``Video`` rows are a rebuildable index of
it. Their ids are hashes of paths relative to the library root, so a rebuilt index
(deleted DB, moved library) gives every film the same id and ``Progress``, which is
keyed by those ids and has no foreign key, keeps matching.

``User``, ``Session`` and ``Secret`` hold the accounts (see accounts.py); each
``Progress`` row belongs to one user.
"""
import datetime
import hashlib
import json
import unicodedata

import peewee
from playhouse.migrate import SchemaMigrator, migrate

database = peewee.SqliteDatabase(None)

PRAGMAS = {
    "journal_mode": "wal",  # readers never wait for the scanner; a COMMIT is durable
    "synchronous": "normal",
    "busy_timeout": 10000,  # two players saving progress at once wait, not fail
    "foreign_keys": 1,
    "cache_size": -8000,
}


def open_database(path):
    database.init(path, pragmas=PRAGMAS, timeout=10)
    with database.connection_context():
        _give_progress_an_owner(database)
        database.create_tables([Show, Video, Skipped, Progress, ScanState, Generation, User, Session, Secret])
        _add_new_columns(Show, Video)
        Generation.insert(id=1, number=0).on_conflict_ignore().execute()
        for table in (Show, Video, Progress):
            for event in ("INSERT", "UPDATE", "DELETE"):
                name = f"{table._meta.table_name}_{event.lower()}_generation"
                database.execute_sql(
                    f"CREATE TRIGGER IF NOT EXISTS {name} AFTER {event} ON {table._meta.table_name} "
                    "BEGIN UPDATE generation SET number = number + 1 WHERE id = 1; END")
    return database


def _give_progress_an_owner(db):
    """Move progress rows saved before accounts existed into the per-user table, as the household's.

    The old table was keyed by video id alone; a key of (user, video) cannot be added to
    it in place, so it is renamed, its rows copied with ``user_id = HOUSEHOLD``, and
    dropped. The first admin later adopts them (``accounts.add_user``). The index of the
    old table goes with it; ``create_tables`` right after makes the new one.
    """
    columns = {column.name for column in db.get_columns("progress")}
    if not columns or "user_id" in columns:
        return
    with db.atomic():
        migrate(SchemaMigrator.from_database(db).rename_table("progress", "progress_unowned"))
        db.create_tables([Progress])
        db.execute_sql(
            "INSERT INTO progress (user_id, video_id, position, duration, finished, updated_at) "
            f"SELECT {HOUSEHOLD}, video_id, position, duration, finished, updated_at FROM progress_unowned")
        db.execute_sql("DROP TABLE progress_unowned")


def _add_new_columns(*models):
    """A database made by an older Haema lacks the columns added since; they are all
    nullable, so adding them is the whole upgrade."""
    operations = []
    for model in models:
        present = {c.name for c in database.get_columns(model._meta.table_name)}
        migrator = SchemaMigrator.from_database(database)
        for field in model._meta.sorted_fields:
            if field.column_name not in present:
                operations.append(migrator.add_column(model._meta.table_name, field.column_name, field))
    if operations:
        migrate(*operations)


class JSONField(peewee.TextField):
    def db_value(self, value):
        return None if value is None else json.dumps(value, separators=(",", ":"))

    def python_value(self, value):
        return None if value is None else json.loads(value)


class BaseModel(peewee.Model):
    class Meta:
        database = database


class Show(BaseModel):
    """A movie or a series. A movie has exactly one video, with the show's id."""

    id = peewee.CharField(primary_key=True)
    kind = peewee.CharField()  # "movie" or "series"
    title = peewee.CharField()
    sort_title = peewee.CharField(index=True)
    year = peewee.IntegerField(null=True)
    folder = peewee.CharField()  # relative folder whose artwork belongs to the show
    thumbnail = peewee.CharField(null=True)  # relative path of a poster image
    banner = peewee.CharField(null=True)
    search = peewee.CharField()  # folded title for case- and accent-blind search
    details = JSONField(null=True)  # from its .nfo file: nfo.Details.as_json() plus the file's path and mtime


class Video(BaseModel):
    id = peewee.CharField(primary_key=True)
    show = peewee.ForeignKeyField(Show, backref="videos", on_delete="CASCADE")
    path = peewee.CharField(unique=True)  # relative to the library root, posix
    size = peewee.BigIntegerField()
    mtime = peewee.FloatField()
    season = peewee.IntegerField(null=True)
    episode = peewee.IntegerField(null=True)
    index = peewee.CharField(null=True)  # "S01E02"
    title = peewee.CharField()
    search = peewee.CharField()
    duration = peewee.FloatField()
    info = JSONField()  # probe facts: container, streams, subtitles (see probe.MediaInfo)
    keyframes = JSONField(null=True)  # probe.Keyframes of this file version, filled in the background
    frame = peewee.CharField(null=True)  # relative cache path of a thumbnail made from a frame
    details = JSONField(null=True)  # an episode's .nfo, as Show.details

    @property
    def version(self):
        """Changes whenever the file does: keys caches and ETags."""
        return f"{self.size:x}-{int(self.mtime * 1000):x}"


class Skipped(BaseModel):
    """A file that could not be indexed, kept so the scan report can say why."""

    path = peewee.CharField(primary_key=True)
    size = peewee.BigIntegerField()
    mtime = peewee.FloatField()
    reason = peewee.CharField()


class Generation(BaseModel):
    """A counter that SQLite triggers bump on any change to shows, videos or progress,
    whichever process makes it: what the web process caches is valid while it holds."""

    id = peewee.IntegerField(primary_key=True, default=1)
    number = peewee.IntegerField()

    @classmethod
    def current(cls):
        return cls.select(cls.number).where(cls.id == 1).scalar()


class ScanState(BaseModel):
    """The last library scan's report (one row), written by the scanning process and
    read by the web process."""

    id = peewee.IntegerField(primary_key=True, default=1)
    report = JSONField()


HOUSEHOLD = 0  # the user id of progress saved with --auth false, and of history from before accounts


class User(BaseModel):
    name = peewee.CharField(unique=True)
    password = peewee.CharField()  # "scrypt$n$r$p$salt$hash", see accounts.hash_password
    admin = peewee.BooleanField(default=False)
    created_at = peewee.DateTimeField(default=datetime.datetime.utcnow)


class Session(BaseModel):
    """A signed-in browser or app. Only a hash of its token is kept: a copy of the
    database lets nobody in. ``id`` is public, for listing and revoking."""

    id = peewee.CharField(primary_key=True)
    user = peewee.ForeignKeyField(User, backref="sessions", on_delete="CASCADE")
    token_hash = peewee.CharField(unique=True)
    created_at = peewee.DateTimeField(default=datetime.datetime.utcnow)
    used_at = peewee.DateTimeField(default=datetime.datetime.utcnow)
    address = peewee.CharField(default="")
    agent = peewee.CharField(default="")


class Secret(BaseModel):
    """Server-side keys, made once (the key that signs media URLs): every process and
    every restart signs and checks with the same one."""

    name = peewee.CharField(primary_key=True)
    value = peewee.CharField()


class Progress(BaseModel):
    """Where a user left a video. ``duration`` is the video's at the time of the save.

    ``user_id`` has no foreign key: ``HOUSEHOLD`` is no row of ``User``. Removing a user
    removes their rows (``accounts.remove_user``)."""

    user_id = peewee.IntegerField()
    video_id = peewee.CharField()
    position = peewee.FloatField()
    duration = peewee.FloatField()
    finished = peewee.BooleanField(default=False)
    updated_at = peewee.DateTimeField(default=datetime.datetime.utcnow, index=True)  # naive UTC

    class Meta:
        primary_key = peewee.CompositeKey("user_id", "video_id")

    @classmethod
    def of_videos(cls, user_id, video_ids):
        """``{video_id: Progress}`` for the ones among ``video_ids`` that ``user_id`` watched, in one query
        per 500 ids."""
        found = {}
        video_ids = list(video_ids)
        for start in range(0, len(video_ids), 500):
            for row in cls.select().where(cls.user_id == user_id, cls.video_id.in_(video_ids[start:start + 500])):
                found[row.video_id] = row
        return found

    def as_json(self):
        return {
            "position": self.position,
            "duration": self.duration,
            "finished": self.finished,
            "updated_at": self.updated_at.isoformat(timespec="milliseconds") + "Z" if self.updated_at else None,
        }


def fold(text):
    """Case- and accent-blind form of ``text``: "Amélie" and "AMELIE" both give "amelie"."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def stable_id(relpath):
    """An id that depends only on the path inside the library, never on where the library is."""
    normal = unicodedata.normalize("NFC", relpath.replace("\\", "/").strip("/"))
    return hashlib.sha1(normal.encode()).hexdigest()[:16]
