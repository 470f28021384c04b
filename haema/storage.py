"""The database behind the models: which one, its schema, and the locks nodes share.

``--db`` names it (see ``config.database_url``): a SQLite file, or a PostgreSQL
database that several Haema nodes share (docs/scale-out.md). The schema is made and
changed by the numbered scripts in haema/migrations, run by playhouse.migrations,
which records each one applied, on both databases alike.

What nodes must not do at the same time (migrate the schema, scan the library) goes
through ``lock``: a PostgreSQL advisory lock, or, for SQLite, which lives on one
machine, an flock on a file beside the database. The operating system drops either
when its holder dies, so a node killed with SIGKILL never leaves a stale lock.

A database that refuses a statement (locked past the busy timeout, or on a disk gone
read-only) is a 503 saying which (``refused``); reads go on where SQLite can still read.
"""
import contextlib
import fcntl
import logging
import os
import sqlite3
import urllib.parse
import zlib

import peewee
from playhouse import db_url, migrations

from . import models
from .config import ConfigError, database_url, sqlite_path
from .errors import HaemaError

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
    except (peewee.OperationalError, OSError) as error:  # OSError: the lock file's folder is read-only
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
        return ReadableSqliteDatabase(path, pragmas=SQLITE_PRAGMAS, timeout=10)
    parts = urllib.parse.urlsplit(url)
    scheme = "postgresql+pool" if pooled else "postgresql"
    options = {"max_connections": 32, "stale_timeout": 300, "timeout": 10} if pooled else {}
    # prefer psycopg 3: it yields to gevent while it waits for the server
    return db_url.connect(parts._replace(scheme=scheme).geturl(), prefer_psycopg3=True, **options)


def check_writable():
    """Raise ``refused(...)`` now if the database would refuse a write, for work that
    writes later, out of the client's sight (a scan runs in a process of its own).

    An UPDATE that matches no row still takes the write lock, on SQLite and PostgreSQL alike.
    """
    try:
        models.ScanState.update(id=models.ScanState.id).where(peewee.SQL("1 = 0")).execute()
    except peewee.OperationalError as error:
        raise refused(error) from None


def refused(error):
    """The ``HaemaError`` for a statement the database refused (``peewee.OperationalError``):
    503, as the cause passes (a lock released, a disk remounted), saying which it is."""
    reason = " ".join(str(error).split())
    if "readonly" in reason or "read-only" in reason:
        return HaemaError(f"the database is read-only, so nothing can be saved now ({reason})", 503)
    if "locked" in reason:
        return HaemaError(f"the database is locked by another process; try again later ({reason})", 503)
    return HaemaError(f"the database cannot be used now; try again later ({reason})", 503)


class ReadableSqliteDatabase(peewee.SqliteDatabase):
    """A SQLite file still read when its folder has turned read-only (a disk remounted
    read-only after errors, a ``:ro`` volume).

    In WAL mode a reader needs the ``-shm`` index beside the database. SQLite deletes it
    when the last connection closes, as the web process's does after each request; in a
    read-only folder it cannot be made again, and every read would fail with "unable to
    open database file". For a file that cannot change SQLite reads without the index
    (``immutable=1``): taken only when no ``-wal`` holds commits the file lacks. A write
    then fails as on any read-only database.
    """

    def _connect(self):
        try:
            return super()._connect()
        except sqlite3.OperationalError:
            if not self._read_only_and_whole():
                raise
        connection = sqlite3.connect(f"file:{urllib.parse.quote(self.database)}?immutable=1", uri=True,
                                     timeout=self._timeout, isolation_level=None, **self.connect_params)
        try:
            self._add_conn_hooks(connection)
        except sqlite3.Error:
            connection.close()
            raise
        return connection

    def _read_only_and_whole(self):
        wal, shm = f"{self.database}-wal", f"{self.database}-shm"
        return (os.path.isfile(self.database) and not os.access(os.path.dirname(self.database), os.W_OK)
                and not os.path.exists(shm) and (not os.path.exists(wal) or os.path.getsize(wal) == 0))


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
