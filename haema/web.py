"""HTTP: the route table and the one place where errors become responses.

Routes parse input, call a service function and return. Everything below ``web``
(catalog, library, playback) knows nothing about HTTP except ``HaemaError.status``.
"""
import json
import logging
import os
import re

import bottle

from . import catalog, models
from .errors import HaemaError, not_found
from .library import Library
from .services import run_in_background

log = logging.getLogger(__name__)

ID = re.compile(r"[0-9a-f]{16}")
STATIC_DIR = os.path.join(os.path.dirname(__file__), "static")


def create_app(config):
    """Build the WSGI app for ``config``; start-up work runs in the background."""
    models.open_database(config.db)
    library = Library(config.target_path, os.path.join(config.cache_path, "thumbnails"))
    app = bottle.Bottle()
    app.config["haema.library"] = library
    app.install(_errors_as_json)
    app.install(_database_connection)
    for code in (404, 405, 500):
        app.error_handler[code] = _bottle_error

    # -- Library ---------------------------------------------------------------

    @app.get("/api/v1/health")
    def health():
        return {"ok": True, "scanning": library.running}

    @app.get("/api/v1/shows")
    def shows():
        return _json(catalog.list_shows(bottle.request.query.getunicode("search")))

    @app.get("/api/v1/shows/<show_id>")
    def show(show_id):
        return catalog.get_show(_id(show_id, "show"))

    @app.get("/api/v1/shows/<show_id>/<kind:re:thumbnail|banner>")
    def artwork(show_id, kind):
        place, relpath = catalog.artwork_path(_id(show_id, "show"), kind)
        if place == "frames":
            return _static(relpath, library.thumbnail_dir)
        if library.resolve(relpath) is None:
            raise not_found(kind)
        return _static(relpath, library.root)

    @app.get("/api/v1/video/<video_id>")
    def video(video_id):
        return catalog.video_json(catalog.get_video(_id(video_id, "video")))

    @app.post("/api/v1/library/scan")
    def scan():
        if not library.running:
            run_in_background(library.background)
        bottle.response.status = 202
        return {"scanning": True, "report": "/api/v1/library/scan"}

    @app.get("/api/v1/library/scan")
    def scan_report():
        return library.report.as_json()

    if config.scan_on_start:
        run_in_background(library.background)
    return app


# -- Plumbing ------------------------------------------------------------------


def _id(value, what):
    """Ids are hex hashes; anything else (``..``, slashes, garbage) is simply unknown."""
    if not ID.fullmatch(value):
        raise not_found(what)
    return value


def _json(value):
    bottle.response.content_type = "application/json"
    return json.dumps(value, ensure_ascii=False)


def _static(relpath, root):
    response = bottle.static_file(relpath, root=root)
    if isinstance(response, bottle.HTTPError):
        raise HaemaError("file not found", 404)
    response.set_header("Cache-Control", "public, max-age=3600")
    return response


def _errors_as_json(callback):
    def wrapper(*args, **kwargs):
        try:
            return callback(*args, **kwargs)
        except HaemaError as error:
            log.info("%s %s → %d %s", bottle.request.method, bottle.request.path, error.status, error.message)
            return _error_response(error.status, error.message)
    return wrapper


def _database_connection(callback):
    def wrapper(*args, **kwargs):
        with models.database.connection_context():
            return callback(*args, **kwargs)
    return wrapper


def _bottle_error(error):
    if error.status_code >= 500:
        log.error("%s %s failed: %s", bottle.request.method, bottle.request.path, error.exception or error.body,
                  exc_info=error.exception)
        message = "internal error; the server log has the details"
    else:
        message = {404: "not found", 405: "method not allowed"}.get(error.status_code, error.body)
    bottle.response.content_type = "application/json"
    return json.dumps({"error": message})


def _error_response(status, message):
    return bottle.HTTPResponse(json.dumps({"error": message}), status=status,
                               headers={"Content-Type": "application/json"})
