"""Ids that cannot be computed from a path: each show and video id becomes the HMAC of
the old one (the SHA-1 of its path) under a key kept in the database (models.stable_id).

Watch progress is keyed by video id, so it is carried over to the new ids, and the index
is renamed in place rather than rebuilt: no file is probed again. A show's id is
referenced by its videos, so each show is copied under its new id, its videos moved to
the copy, and the old row deleted. A database that has the key already is left alone.
"""
import secrets

from haema.models import ID_KEY, keyed_id


def up(migrator, db):
    p = db.param

    def rows(sql, *params):
        return db.execute_sql(sql, params).fetchall()

    def run(sql, *params):
        db.execute_sql(sql, params)

    if rows(f'SELECT 1 FROM "secret" WHERE "name" = {p}', ID_KEY):
        return
    key = secrets.token_bytes(32)
    with db.atomic():
        run(f'INSERT INTO "secret" ("name", "value") VALUES ({p}, {p})', ID_KEY, key.hex())
        columns = [column.name for column in db.get_columns("show")]
        listed = ", ".join(f'"{name}"' for name in columns)
        copied = ", ".join(p if name == "id" else f'"{name}"' for name in columns)
        for (old,) in rows('SELECT "id" FROM "show"'):
            new = keyed_id(key, old)
            run(f'INSERT INTO "show" ({listed}) SELECT {copied} FROM "show" WHERE "id" = {p}', new, old)
            run(f'UPDATE "video" SET "show_id" = {p} WHERE "show_id" = {p}', new, old)
            run(f'DELETE FROM "show" WHERE "id" = {p}', old)
        for table, column in (("video", "id"), ("progress", "video_id")):
            for (old,) in rows(f'SELECT DISTINCT "{column}" FROM "{table}"'):
                run(f'UPDATE "{table}" SET "{column}" = {p} WHERE "{column}" = {p}', keyed_id(key, old), old)
