"""The database behind the models: --db URLs, migrations on both databases, the nodes' lock."""
import os
import sqlite3
import threading

import pytest

from haema import models, naming, preferences, storage
from haema.config import ConfigError, database_url

from .conftest import BACKEND

# The schema as Haema made it before migrations were recorded (peewee's DDL for the
# models of that time, and its triggers).
SCHEMA_BEFORE_MIGRATIONS = [
    'CREATE TABLE "generation" ("id" INTEGER NOT NULL PRIMARY KEY, "number" INTEGER NOT NULL)',
    'CREATE TABLE "progress" ("video_id" VARCHAR(255) NOT NULL PRIMARY KEY, "position" REAL NOT NULL, '
    '"duration" REAL NOT NULL, "finished" INTEGER NOT NULL, "updated_at" DATETIME NOT NULL)',
    'CREATE INDEX "progress_updated_at" ON "progress" ("updated_at")',
    'CREATE TABLE "scanstate" ("id" INTEGER NOT NULL PRIMARY KEY, "report" TEXT NOT NULL)',
    'CREATE TABLE "show" ("id" VARCHAR(255) NOT NULL PRIMARY KEY, "kind" VARCHAR(255) NOT NULL, '
    '"title" VARCHAR(255) NOT NULL, "sort_title" VARCHAR(255) NOT NULL, "year" INTEGER, '
    '"folder" VARCHAR(255) NOT NULL, "thumbnail" VARCHAR(255), "banner" VARCHAR(255), "search" VARCHAR(255) NOT NULL)',
    'CREATE INDEX "show_sort_title" ON "show" ("sort_title")',
    'CREATE TABLE "skipped" ("path" VARCHAR(255) NOT NULL PRIMARY KEY, "size" INTEGER NOT NULL, '
    '"mtime" REAL NOT NULL, "reason" VARCHAR(255) NOT NULL)',
    'CREATE TABLE "video" ("id" VARCHAR(255) NOT NULL PRIMARY KEY, "show_id" VARCHAR(255) NOT NULL, '
    '"path" VARCHAR(255) NOT NULL, "size" INTEGER NOT NULL, "mtime" REAL NOT NULL, "season" INTEGER, '
    '"episode" INTEGER, "index" VARCHAR(255), "title" VARCHAR(255) NOT NULL, "search" VARCHAR(255) NOT NULL, '
    '"duration" REAL NOT NULL, "info" TEXT NOT NULL, "keyframes" TEXT, "frame" VARCHAR(255), '
    'FOREIGN KEY ("show_id") REFERENCES "show" ("id") ON DELETE CASCADE)',
    'CREATE INDEX "video_show_id" ON "video" ("show_id")',
    'CREATE UNIQUE INDEX "video_path" ON "video" ("path")',
] + [f"CREATE TRIGGER {table}_{event.lower()}_generation AFTER {event} ON {table} "
     "BEGIN UPDATE generation SET number = number + 1 WHERE id = 1; END"
     for table in ("show", "video", "progress") for event in ("INSERT", "UPDATE", "DELETE")]


# -- --db ----------------------------------------------------------------------


def test_a_plain_path_and_a_sqlite_url_name_the_same_absolute_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert database_url("haema.db") == database_url("sqlite:///haema.db") == f"sqlite:///{tmp_path}/haema.db"
    assert database_url(f"sqlite:///{tmp_path}/x.db") == f"sqlite:///{tmp_path}/x.db"


def test_a_postgresql_url_is_kept_and_its_password_never_logged():
    url = "postgresql://haema:s3cret@db.lan:5433/haema"
    assert database_url(url) == url
    assert storage.redacted(url) == "postgresql://haema:***@db.lan:5433/haema"


@pytest.mark.parametrize("text, words", [("mysql://u@h/db", "mysql:// databases are not supported"),
                                         ("sqlite://", "names a file")])
def test_a_database_haema_cannot_use_is_a_clear_error(text, words):
    with pytest.raises(ConfigError, match=words):
        database_url(text)


def test_an_unreachable_postgresql_is_a_config_error_without_the_password():
    from harness.processes import free_port

    with pytest.raises(ConfigError) as error:
        storage.open_database(f"postgresql://haema:s3cret@127.0.0.1:{free_port()}/haema")
    assert "cannot open the database postgresql://haema:***@127.0.0.1" in str(error.value)
    assert "s3cret" not in str(error.value)


# -- Migrations ----------------------------------------------------------------


MIGRATIONS = ["0001_initial", "0002_accounts", "0003_nfo_details", "0004_keyed_ids", "0005_display_preferences",
              "0006_playback_preferences", "0007_favourites", "0008_continue_dismissed"]


def _applied(database):
    with database.connection_context():
        return [row[0] for row in database.execute_sql("SELECT name FROM schema_migration ORDER BY name")]


def test_a_new_database_gets_every_migration_once(database_url):
    database = storage.open_database(database_url)
    assert _applied(database) == MIGRATIONS
    with database.connection_context():
        models.Progress.create(user_id=models.HOUSEHOLD, video_id="0123456789abcdef", position=1.5, duration=60.0)
        before = models.Generation.current()
        models.Progress.update(position=2.0).execute()
        assert models.Generation.current() > before  # the change counter's trigger is in place
        before = models.Generation.current()
        models.Favourite.create(user_id=models.HOUSEHOLD, item="0123456789abcdef")
        assert models.Generation.current() > before  # and on favourites (0007)
    reopened = storage.open_database(database_url)  # what every start and every scan does
    assert _applied(reopened) == MIGRATIONS
    with reopened.connection_context():
        assert models.Progress.get().position == 2.0


def test_a_database_made_before_migrations_adopts_them_unchanged(tmp_path):
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as old:
        for statement in SCHEMA_BEFORE_MIGRATIONS:
            old.execute(statement)
        old.execute("INSERT INTO progress VALUES ('0123456789abcdef', 12.5, 60.0, 0, '2026-01-02 03:04:05.678')")
        old.execute("INSERT INTO generation VALUES (1, 7)")
    database = storage.open_database(str(path))
    assert _applied(database) == MIGRATIONS
    with database.connection_context():
        assert models.Progress.get().position == 12.5
        # 0004 moved the row to the keyed id: one change
        assert models.Progress.get().video_id == models.keyed_id(models.Secret.key(models.ID_KEY), "0123456789abcdef")
        assert models.Generation.current() == 8
        models.Progress.update(position=13.0).execute()
        assert models.Generation.current() == 9  # one trigger on progress (remade by 0002), not two



def test_a_database_of_0005_gets_the_playback_preferences_and_keeps_its_history(database_url):
    """An upgrade from the Haema before 0006: its progress stays, and preferences can be saved."""
    database = storage.open_database(database_url)
    with database.connection_context():
        database.execute_sql('DROP TABLE "playback_preference"')
        database.execute_sql(f'DELETE FROM "schema_migration" WHERE "name" = {database.param}',
                             ("0006_playback_preferences",))
        models.Progress.create(user_id=models.HOUSEHOLD, video_id="0123456789abcdef", position=1.5, duration=60.0)
    upgraded = storage.open_database(database_url)
    assert _applied(upgraded) == MIGRATIONS
    with upgraded.connection_context():
        assert models.Progress.get().position == 1.5
        preferences.save(models.HOUSEHOLD, subtitle_language="fr", quality=720)
        assert preferences.get_preferences(models.HOUSEHOLD) == preferences.PlaybackPreferences(None, "fr", 720)

# -- The lock nodes share --------------------------------------------------------


def _waiting_for_the_lock(url, name):
    """Whether some session is blocked on ``storage.lock(url, name)`` right now."""
    if BACKEND == "postgresql":
        session = storage.connect(url, pooled=False)
        with session.connection_context():
            cursor = session.execute_sql("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                                         "AND objid::bigint = %s AND NOT granted", (storage.lock_key(name),))
            return cursor.fetchone()[0] > 0
    inode = os.stat(f"{url[len('sqlite:///'):]}.{name}.lock").st_ino
    with open("/proc/locks", encoding="ascii") as locks:
        return any("->" in line and line.split()[-3].endswith(f":{inode}") for line in locks)


def test_only_one_holder_of_the_scan_lock_at_a_time(database_url):
    """The second holder must wait for the first to let go, whichever database it is."""
    storage.open_database(database_url)
    events = []

    def second():
        with storage.lock(database_url, "scan"):
            events.append("second holds")

    with storage.lock(database_url, "scan"):
        events.append("first holds")
        thread = threading.Thread(target=second)
        thread.start()
        while not _waiting_for_the_lock(database_url, "scan"):
            assert thread.is_alive() and events == ["first holds"]
        events.append("first lets go")
    thread.join(30)
    assert events == ["first holds", "first lets go", "second holds"]


def test_a_node_starts_while_another_scans(database_url):
    """Opening the database takes the migration lock, not the scan lock."""
    storage.open_database(database_url)
    with storage.lock(database_url, "scan"):
        opening = threading.Thread(target=storage.open_database, args=(database_url,))
        opening.start()
        opening.join(60)  # a bound for a hang, not a measurement
        assert not opening.is_alive()


def test_history_keeps_its_videos_when_ids_become_keyed(database_url, library_root, make_app):
    """A library indexed with the unkeyed ids of before 0004, with a user's progress:
    after the upgrade, the index and the progress have the keyed ids the scanner now
    gives, so the film is still where it was left, without a rescan."""
    app = make_app(library_root)
    database = models.database.obj
    heat = next(s for s in app.get("/api/v1/shows").json if s["info"]["title"] == "Heat")["info"]["id"]
    bebop = next(s for s in app.get("/api/v1/shows").json if s["info"]["title"] == "Cowboy Bebop")
    episode = app.get(f"/api/v1/shows/{bebop['info']['id']}").json["episodes"][1]["id"]
    app.put_json(f"/api/v1/video/{heat}/progress", {"position": 1.5})
    app.put_json(f"/api/v1/video/{episode}/progress", {"position": 0.5})
    with database.connection_context():
        key = models.Secret.key(models.ID_KEY)
        new_to_old = _unkey(database)  # back to before: unkeyed ids everywhere, no key, 0004 not applied
    reopened = storage.open_database(database_url)
    assert _applied(reopened) == MIGRATIONS
    with reopened.connection_context():
        assert models.Secret.key(models.ID_KEY) != key  # a new key, made by the migration
    again = make_app(library_root, scan=False)
    shows = again.get("/api/v1/shows").json
    heat_now = next(s for s in shows if s["info"]["title"] == "Heat")["info"]["id"]
    assert heat_now not in new_to_old.values() and heat_now != heat
    assert again.get(f"/api/v1/video/{heat_now}/progress").json["position"] == 1.5
    [watching] = [h for h in again.get("/api/v1/history").json if h["show"]["title"] == "Cowboy Bebop"]
    assert (watching["episode"]["index"], watching["position"]) == ("S01E02", 0.5)
    # and a rescan gives the same ids: nothing is listed twice, the progress still matches
    rescanned = make_app(library_root)
    assert sorted(s["info"]["id"] for s in rescanned.get("/api/v1/shows").json) == sorted(s["info"]["id"] for s in shows)
    assert rescanned.get(f"/api/v1/video/{heat_now}/progress").json["position"] == 1.5


def _unkey(database):
    """Give the index and progress the ids of before 0004 (the SHA-1 of the path), as the
    scanner of that time did; ``{keyed id: unkeyed id}``."""
    p = database.param
    videos = database.execute_sql('SELECT "path", "id", "show_id" FROM "video"').fetchall()
    old_ids = {video_id: models.path_hash(relpath) for relpath, video_id, _ in videos}
    old_ids.update({show_id: models.path_hash(naming.place(relpath).show_key) for relpath, _, show_id in videos})
    with database.atomic():
        columns = [column.name for column in database.get_columns("show")]
        listed = ", ".join(f'"{name}"' for name in columns)
        copied = ", ".join(p if name == "id" else f'"{name}"' for name in columns)
        for (new,) in database.execute_sql('SELECT "id" FROM "show"').fetchall():
            database.execute_sql(f'INSERT INTO "show" ({listed}) SELECT {copied} FROM "show" WHERE "id" = {p}',
                                 (old_ids[new], new))
            database.execute_sql(f'UPDATE "video" SET "show_id" = {p} WHERE "show_id" = {p}', (old_ids[new], new))
            database.execute_sql(f'DELETE FROM "show" WHERE "id" = {p}', (new,))
        for table, column in (("video", "id"), ("progress", "video_id")):
            for new, old in old_ids.items():
                database.execute_sql(f'UPDATE "{table}" SET "{column}" = {p} WHERE "{column}" = {p}', (old, new))
        database.execute_sql(f'DELETE FROM "secret" WHERE "name" = {p}', (models.ID_KEY,))
        database.execute_sql(f'DELETE FROM "schema_migration" WHERE "name" = {p}', ("0004_keyed_ids",))
    return old_ids
