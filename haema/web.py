"""HTTP: the route table and the one place where errors become responses.

Routes parse input, call a service function and return. Everything below ``web``
(catalog, library, playback) knows nothing about HTTP except ``HaemaError.status``.
"""
import json
import logging
import os
import re

import bottle

from . import catalog, history, models, storage
from .errors import HaemaError, not_found
from .library import Library
from .playback import Playback
from .services import BackgroundScan

log = logging.getLogger(__name__)

ID = re.compile(r"[0-9a-f]{16}")
STATIC_DIR = os.path.join(os.path.dirname(__file__), "static")


def create_app(config):
    """Build the WSGI app for ``config``; start-up work runs in the background."""
    storage.open_database(config.db)
    library = Library(config.target_path, os.path.join(config.cache_path, "thumbnails"))
    app = bottle.Bottle()
    playback = Playback(config)
    scanner = BackgroundScan(config, library.thumbnail_dir)
    listings = catalog.Listings()
    app.config["haema.library"] = library
    app.config["haema.playback"] = playback
    app.install(_Closing(playback, scanner))
    app.install(_errors_as_json)
    app.install(_database_connection)
    for code in (404, 405, 500):
        app.error_handler[code] = _bottle_error

    # -- Library ---------------------------------------------------------------

    @app.get("/api/v1/health")
    def health():
        return {"ok": True, "scanning": scanner.running}

    @app.get("/api/v1/shows")
    def shows():
        etag, text = listings.get(bottle.request.query.getunicode("search"))
        return _tagged(text, etag, "application/json", "no-cache")

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
        scanner.start()
        bottle.response.status = 202
        return {"scanning": True, "report": "/api/v1/library/scan"}

    @app.get("/api/v1/library/scan")
    def scan_report():
        return dict(library.last_report(), running=scanner.running)

    # -- Playback --------------------------------------------------------------

    @app.get("/api/v1/video/<video_id>/master.m3u8")
    def master(video_id):
        return _playlist(*playback.master(_id(video_id, "video")))

    @app.get("/api/v1/video/<video_id>/<variant>/stream.m3u8")
    def media(video_id, variant):
        return _playlist(*playback.media(_id(video_id, "video"), variant))

    @app.get("/api/v1/video/<video_id>/<track>/0.vtt")
    def subtitles(video_id, track):
        video, data = playback.subtitles(_id(video_id, "video"), track)
        return _media_response(video, data, "text/vtt; charset=utf-8", "public, max-age=86400", f"{track}/0")

    @app.get("/api/v1/video/<video_id>/<variant>/<index>.ts")
    def segment(video_id, variant, index):
        if not index.isdigit() or len(index) > 6:
            raise not_found("segment")
        video, data = playback.segment(_id(video_id, "video"), variant, int(index))
        return _media_response(video, data, "video/mp2t", "public, max-age=86400", f"{variant}/{index}")

    # -- Progress --------------------------------------------------------------

    @app.get("/api/v1/video/<video_id>/progress")
    def progress(video_id):
        return history.get_progress(_id(video_id, "video"))

    @app.route("/api/v1/video/<video_id>/progress", method=["PUT", "POST"])  # POST: navigator.sendBeacon
    def save_progress(video_id):
        return history.save_progress(_id(video_id, "video"), _json_body())

    @app.delete("/api/v1/video/<video_id>/progress")
    def clear_progress(video_id):
        history.clear_progress(_id(video_id, "video"))
        bottle.response.status = 204

    @app.get("/api/v1/history")
    def watched():
        return _json(history.list_history(bottle.request.query.get("limit")))

    @app.get("/api/v1/continue")
    def continue_watching():
        return _json(history.continue_watching())

    # -- Web UI ----------------------------------------------------------------

    @app.get("/")
    def index():
        return _static("index.html", STATIC_DIR, cache="no-cache")

    @app.get("/static/<path:path>")
    def ui_file(path):
        return _static(path, STATIC_DIR, cache="no-cache")

    if config.scan_on_start:
        scanner.start()
    return app


# -- Plumbing ------------------------------------------------------------------


def _playlist(video, text):
    return _media_response(video, text, "application/vnd.apple.mpegurl", "no-cache", "playlist")


def _media_response(video, body, content_type, cache_control, part):
    """Playlists and segments change only with the file: an ETag from its version."""
    etag = f'"{video.id}-{video.version}-{part.replace("/", "-")}"'
    return _tagged(body, etag, content_type, cache_control)


def _tagged(body, etag, content_type, cache_control):
    """The response, or a 304 to a client that already has this version."""
    headers = {"Content-Type": content_type, "Cache-Control": cache_control, "ETag": etag}
    if bottle.request.headers.get("If-None-Match") == etag:
        return bottle.HTTPResponse(status=304, headers=headers)
    return bottle.HTTPResponse(body, headers=headers)


def _id(value, what):
    """Ids are hex hashes; anything else (``..``, slashes, garbage) is simply unknown."""
    if not ID.fullmatch(value):
        raise not_found(what)
    return value


def _json(value):
    bottle.response.content_type = "application/json"
    return json.dumps(value, ensure_ascii=False)


def _json_body():
    """The request body as JSON, whatever its Content-Type (sendBeacon sends text/plain)."""
    try:
        return json.loads(bottle.request.body.read() or b"null")
    except ValueError:  # also UnicodeDecodeError
        raise HaemaError("the request body is not valid JSON") from None


def _static(relpath, root, cache="public, max-age=3600"):
    """``cache="no-cache"``: the browser revalidates (If-Modified-Since), for files that change on upgrade."""
    response = bottle.static_file(relpath, root=root)
    if isinstance(response, bottle.HTTPError):
        raise HaemaError("file not found", 404)
    response.set_header("Cache-Control", cache)
    return response


class _Closing:
    """A Bottle plugin whose only job is ``app.close()`` stopping the helper processes."""

    name, api = "closing", 2

    def __init__(self, *resources):
        self.resources = resources

    def apply(self, callback, route):
        return callback

    def close(self):
        for resource in self.resources:
            resource.close()


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
