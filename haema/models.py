"""The library index and watch history, through peewee, in SQLite or PostgreSQL.

The folder tree is the truth; ``Show`` and ``Video`` rows are a rebuildable index of
it. Their ids are keyed hashes of paths relative to the library root (``stable_id``), so
a rescan or a moved library gives every film the same id and ``Progress``, which is
keyed by those ids and has no foreign key, keeps matching. The key is a ``Secret`` in
the database, so nobody can compute a film's id from a path they guess.

``User``, ``Session`` and ``Secret`` hold the accounts (see accounts.py); each
``Progress`` row belongs to one user.

Which database holds them is chosen at start-up (storage.py opens ``--db`` into
``database``); the schema lives in haema/migrations. Text that comes from file names
is ``TextField``: PostgreSQL enforces a VARCHAR's 255 characters, SQLite never did.
Numbers with a fraction are ``DoubleField``: PostgreSQL's REAL keeps 24 bits, and a
file's mtime, compared for equality on every rescan, needs all 53.
"""
import datetime
import hashlib
import hmac
import json
import secrets
import unicodedata

import peewee

from .probe import Keyframes, MediaInfo

database = peewee.DatabaseProxy()


class JSONField(peewee.TextField):
    def db_value(self, value):
        return None if value is None else json.dumps(value, separators=(",", ":"))

    def python_value(self, value):
        return None if value is None else json.loads(value)


class TypedJSONField(JSONField):
    """A frozen dataclass stored as JSON: the one place where its ``to_json`` and
    ``from_json`` are called, so the rest of the code only ever sees the typed value."""

    def __init__(self, kind, **kwargs):
        self.kind = kind
        super().__init__(**kwargs)

    def db_value(self, value):
        return super().db_value(None if value is None else value.to_json())

    def python_value(self, value):
        data = super().python_value(value)
        return None if data is None else self.kind.from_json(data)


class BaseModel(peewee.Model):
    class Meta:
        database = database


class Show(BaseModel):
    """A movie or a series. A movie has exactly one video, with the show's id."""

    id = peewee.CharField(primary_key=True)
    kind = peewee.CharField()  # "movie" or "series"
    title = peewee.TextField()
    sort_title = peewee.TextField(index=True)
    year = peewee.IntegerField(null=True)
    folder = peewee.TextField()  # relative folder whose artwork belongs to the show
    thumbnail = peewee.TextField(null=True)  # relative path of a poster image
    banner = peewee.TextField(null=True)
    search = peewee.TextField()  # folded title for case- and accent-blind search
    details = JSONField(null=True)  # from its .nfo file: nfo.Details.as_json() plus the file's path and mtime


class Video(BaseModel):
    id = peewee.CharField(primary_key=True)
    show = peewee.ForeignKeyField(Show, backref="videos", on_delete="CASCADE")
    path = peewee.TextField(unique=True)  # relative to the library root, posix
    size = peewee.BigIntegerField()
    mtime = peewee.DoubleField()
    season = peewee.IntegerField(null=True)
    episode = peewee.IntegerField(null=True)
    index = peewee.CharField(null=True)  # "S01E02"
    title = peewee.TextField()
    search = peewee.TextField()
    duration = peewee.DoubleField()
    info = TypedJSONField(MediaInfo)  # probe facts: container, streams, subtitles
    keyframes = TypedJSONField(Keyframes, null=True)  # of this file version, filled in the background
    frame = peewee.TextField(null=True)  # relative cache path of a thumbnail made from a frame
    details = JSONField(null=True)  # an episode's .nfo, as Show.details

    @property
    def version(self):
        """Changes whenever the file does: keys caches and ETags."""
        return f"{self.size:x}-{int(self.mtime * 1000):x}"


class Skipped(BaseModel):
    """A file that could not be indexed, kept so the scan report can say why."""

    path = peewee.TextField(primary_key=True)
    size = peewee.BigIntegerField()
    mtime = peewee.DoubleField()
    reason = peewee.TextField()


class Generation(BaseModel):
    """A counter that database triggers bump on any change to shows, videos, progress or favourites,
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
    address = peewee.TextField(default="")
    agent = peewee.TextField(default="")  # a browser's User-Agent can be longer than a VARCHAR's 255


class Secret(BaseModel):
    """Server-side keys, made once (the key that signs media URLs, the key of ids): every
    process, node and restart uses the same one."""

    name = peewee.CharField(primary_key=True)
    value = peewee.CharField()

    @classmethod
    def key(cls, name):
        """The 32-byte key ``name``, made by whichever process asks first."""
        cls.insert(name=name, value=secrets.token_hex(32)).on_conflict_ignore().execute()
        return bytes.fromhex(cls.get(cls.name == name).value)


class Progress(BaseModel):
    """Where a user left a video. ``duration`` is the video's at the time of the save.

    ``user_id`` has no foreign key: ``HOUSEHOLD`` is no row of ``User``. Removing a user
    removes their rows (``accounts.remove_user``)."""

    user_id = peewee.IntegerField()
    video_id = peewee.CharField()
    position = peewee.DoubleField()
    duration = peewee.DoubleField()
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


ID_KEY = "library-id-key"


def stable_id(relpath, key):
    """An id that depends only on the path inside the library, never on where the library
    is, and that cannot be computed without ``key`` (``Secret.key(ID_KEY)``).

    It is the HMAC of the unkeyed hash that ids were before keys (``path_hash``), so an
    older database's ids map to these without the paths (migration 0004)."""
    return keyed_id(key, path_hash(relpath))


def path_hash(relpath):
    """What anyone can compute from a path: never an id by itself."""
    normal = unicodedata.normalize("NFC", relpath.replace("\\", "/").strip("/"))
    return hashlib.sha1(normal.encode()).hexdigest()[:16]


def keyed_id(key, plain):
    return hmac.new(key, plain.encode(), hashlib.sha256).hexdigest()[:16]


class ContinueDismissed(BaseModel):
    """A show the user took out of Continue watching, and when: it stays out until a video of
    it is watched again (a progress save after ``at``). No foreign key, as in ``Progress``."""

    user_id = peewee.IntegerField()
    show_id = peewee.CharField()
    at = peewee.DateTimeField(default=datetime.datetime.utcnow)  # naive UTC, as Progress.updated_at

    class Meta:
        table_name = "continue_dismissed"
        primary_key = peewee.CompositeKey("user_id", "show_id")


class Favourite(BaseModel):
    """An item a user marked as a favourite in a Jellyfin app (the heart). ``item`` is Haema's
    id of a film, series or episode, or ``<series id>/season/<n>``. No foreign key, as in
    ``Progress``: a favourite outlives a rescan that drops its file for a while."""

    user_id = peewee.IntegerField()
    item = peewee.CharField()
    created_at = peewee.DateTimeField(default=datetime.datetime.utcnow)

    class Meta:
        primary_key = peewee.CompositeKey("user_id", "item")

    @classmethod
    def of_user(cls, user_id):
        return {row.item for row in cls.select(cls.item).where(cls.user_id == user_id)}


class DisplayPreference(BaseModel):
    """A Jellyfin app's display preferences for a user (jellyfin/system.py): the JSON it sent,
    for a preference id and a client. No foreign key, as in ``Progress``."""

    user_id = peewee.IntegerField()
    key = peewee.CharField()
    client = peewee.CharField()
    value = JSONField()
    updated_at = peewee.DateTimeField(default=datetime.datetime.utcnow)

    class Meta:
        table_name = "display_preference"
        primary_key = peewee.CompositeKey("user_id", "key", "client")


class PlaybackPreference(BaseModel):
    """What a user last chose in a player (preferences.py): one row a user, read by the web
    player and by Jellyfin apps alike. No foreign key, as in ``Progress``: ``HOUSEHOLD`` is
    no row of ``User``."""

    user_id = peewee.IntegerField(primary_key=True)
    audio_language = peewee.CharField(null=True)  # a language tag ("en"); null: the film's default track
    subtitle_language = peewee.CharField(null=True)  # a language tag, or "none" for off; null: never chosen
    quality = peewee.IntegerField(null=True)  # the short side in pixels ("720p"); null: automatic
    updated_at = peewee.DateTimeField(default=datetime.datetime.utcnow)

    class Meta:
        table_name = "playback_preference"
