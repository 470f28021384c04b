"""The database behind the models: which one, its schema, and the locks nodes share.

``--db`` names it (see ``config.database_url``): a SQLite file, or a PostgreSQL
database that several Haema nodes share (docs/scale-out.md). The schema is made and
changed by the numbered scripts in haema/migrations, run by playhouse.migrations,
which records each one applied, on both databases alike.

What nodes must not do at the same time (migrate the schema, scan the library) goes
through ``lock``: a PostgreSQL advisory lock, or, for SQLite, which lives on one
machine, an flock on a file beside the database. The operating system drops either
when its holder dies, so a node killed with SIGKILL never leaves a stale lock.
"""
import contextlib
import fcntl
import logging
import os
import urllib.parse
import zlib

import peewee
from playhouse import db_url, migrations

from . import models
from .config import ConfigError, database_url, sqlite_path

log = logging.getLogger(__name__)

MIGRATIONS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "migrations")

SQLITE_PRAGMAS = {
    "journal_mode": "wal",  # readers never wait for the scanner; a COMMIT is durable
    "synchronous": "normal",
    "busy_timeout": 10000,  # two players saving progress at once wait, not fail
    "foreign_keys": 1,
    "cache_size": -8000,
}


def open_database(url):
    """Point the models at ``url`` and bring its schema up to date, one node at a time.

    A database that cannot be reached is a ``ConfigError`` naming it (without its password).
    """
    url = database_url(url)
    database = connect(url)
    models.database.initialize(database)
    try:
        with lock(url, "migrate"), database.connection_context():
            applied = migrations.Runner(database, MIGRATIONS).up()
    except peewee.OperationalError as error:
        reason = " ".join(str(error).split())  # psycopg's hint is on a line of its own
        raise ConfigError(f"cannot open the database {redacted(url)}: {reason}") from None
    if applied:
        log.info("database %s: applied %s", redacted(url), ", ".join(applied))
    return database


def connect(url, pooled=True):
    """A peewee database for ``url``, not yet connected.

    PostgreSQL connections are pooled: the web process opens one per request, and a
    new PostgreSQL session costs a fork on the server and an authentication.
    ``pooled=False`` gives a connection of its own, as a session-level lock needs.
    """
    path = sqlite_path(url)
    if path is not None:
        return peewee.SqliteDatabase(path, pragmas=SQLITE_PRAGMAS, timeout=10)
    parts = urllib.parse.urlsplit(url)
    scheme = "postgresql+pool" if pooled else "postgresql"
    options = {"max_connections": 32, "stale_timeout": 300, "timeout": 10} if pooled else {}
    # prefer psycopg 3: it yields to gevent while it waits for the server
    return db_url.connect(parts._replace(scheme=scheme).geturl(), prefer_psycopg3=True, **options)


@contextlib.contextmanager
def lock(url, name):
    """Hold the lock ``name`` of the database at ``url`` for the block, waiting for it
    if another process (on any node) holds it."""
    url = database_url(url)
    path = sqlite_path(url)
    if path is not None:
        with open(f"{path}.{name}.lock", "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            yield
        return
    session = connect(url, pooled=False)  # the lock lives exactly as long as this session
    try:
        session.connect()
        session.execute_sql("SELECT pg_advisory_lock(%s)", (lock_key(name),))
        yield
    finally:
        session.close()


def lock_key(name):
    """The advisory lock number of ``name``: a fixed 32-bit number, the same on every node."""
    return zlib.crc32(f"haema:{name}".encode())


def redacted(url):
    """``url`` fit for a log line: without its password."""
    parts = urllib.parse.urlsplit(url)
    if parts.password is None:
        return url
    return parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@")).geturl()
