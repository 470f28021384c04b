"""HTTP: the route table and the one place where errors become responses.

Routes parse input, call a service function and return. Everything below ``web``
(catalog, library, playback) knows nothing about HTTP except ``HaemaError.status``.
Who may call a route is stated in its config (``access=``) and checked by one plugin,
``gate.Gate``; a route without ``access`` needs a signed-in user.
"""
import dataclasses
import json
import logging
import os
import re
import zlib

import bottle
import peewee

from . import accounts, catalog, history, jellyfin, models, preferences, signing, storage
from .errors import HaemaError, not_found
from .gate import WEB_CLIENT_CSP, Gate, add_security_headers, client, end_session, identity, start_session
from .library import Library
from .playback import Playback
from .previews import Previews
from .services import BackgroundScan, FolderWatch, scan_lock
from .streaming import file_response

log = logging.getLogger(__name__)

ID = re.compile(r"[0-9a-f]{16}")
STATIC_DIR = os.path.join(os.path.dirname(__file__), "static")


def create_app(config, serving=False):
    """Build the WSGI app for ``config``; start-up work runs in the background.

    ``serving``: the app is a server's (cli.py), so it starts its encoder workers now and
    the first segment does not wait for a Python and PyAV to load (about a second). An
    app built for tests leaves each worker to start with its first job."""
    storage.open_database(config.db)
    library = Library(config.target_path, os.path.join(config.cache_path, "thumbnails"),
                      os.path.join(config.cache_path, "trickplay"))
    app = bottle.Bottle()
    playback = Playback(config)
    previews = Previews(config.target_path, library.trickplay_dir, playback.pool)
    lock = scan_lock()
    scanner = BackgroundScan(config, library, lock)
    watcher = FolderWatch(config, library, lock)
    listings = catalog.Listings()
    with models.database.connection_context():
        gate = Gate(config.auth, signing.Signer(signing.load_key()))
        setup = accounts.Setup() if config.auth else None
    sign_ins = accounts.SignIns()
    app.config["haema.library"] = library
    app.config["haema.playback"] = playback
    app.config["haema.setup"] = setup
    app.install(_Closing(playback, scanner, watcher))
    app.install(_errors_as_json)
    app.install(_database_connection)
    app.install(gate)
    app.add_hook("after_request", add_security_headers)
    for code in (404, 405, 500):
        app.error_handler[code] = _bottle_error

    # -- Library ---------------------------------------------------------------

    @app.get("/api/v1/health", access="public")  # for load balancers and Docker, which sign in to nothing
    def health():
        report = library.last_report()
        return {"ok": True, "scanning": scanner.running or report.running, "scanned_at": report.finished_at}

    @app.get("/api/v1/shows")
    def shows():
        etag, text = listings.get(identity().user_id, bottle.request.query.getunicode("search"))
        return _tagged(text, etag, "application/json", "private, no-cache")

    @app.get("/api/v1/shows/<show_id>")
    def show(show_id):
        return catalog.get_show(identity().user_id, _id(show_id, "show"))

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
        video = catalog.get_video(_id(video_id, "video"))
        return catalog.video_json(video, identity().user_id, gate.media_query(video.id))

    @app.post("/api/v1/library/scan", access="admin")
    def scan():
        storage.check_writable()  # the scan's own process would fail where no client sees it
        scanner.start()
        bottle.response.status = 202
        return {"scanning": True, "report": "/api/v1/library/scan"}

    @app.get("/api/v1/library/scan")
    def scan_report():
        return dict(library.last_report().as_json(), running=scanner.running)

    # -- Playback --------------------------------------------------------------

    @app.get("/api/v1/video/<video_id>/master.m3u8", access="media")
    def master(video_id):
        return _playlist(*playback.master(_id(video_id, "video")), gate.media_query(video_id))

    @app.get("/api/v1/video/<video_id>/<variant>/stream.m3u8", access="media")
    def media(video_id, variant):
        return _playlist(*playback.media(_id(video_id, "video"), variant), gate.media_query(video_id))

    @app.get("/api/v1/video/<video_id>/<variant>/iframes.m3u8", access="media")
    def iframes(video_id, variant):
        return _playlist(*playback.iframe_playlist(_id(video_id, "video"), variant), gate.media_query(video_id))

    @app.get("/api/v1/video/<video_id>/<variant>/iframes/<index:int>.ts", access="media")
    def iframe(video_id, variant, index):
        video, file = playback.iframe(_id(video_id, "video"), variant, index)
        return _media_response(video, file, "video/mp2t", "public, max-age=86400", f"{variant}/iframes/{index}")

    @app.get("/api/v1/video/<video_id>/trickplay/thumbnails.vtt", access="media")
    def thumbnails(video_id):
        video, text = previews.thumbnails(_id(video_id, "video"))
        return _media_response(video, text, "text/vtt; charset=utf-8", "no-cache", "thumbnails")

    @app.get("/api/v1/video/<video_id>/trickplay/images.m3u8", access="media")
    def images(video_id):
        return _playlist(*previews.image_playlist(_id(video_id, "video")), gate.media_query(video_id))

    @app.get("/api/v1/video/<video_id>/trickplay/<number:int>.jpg", access="media")
    def sheet(video_id, number):
        return _static(previews.sheet(_id(video_id, "video"), number), previews.trickplay_dir)

    @app.get("/api/v1/video/<video_id>/<track>/0.vtt", access="media")
    def subtitles(video_id, track):
        video, file = playback.subtitles(_id(video_id, "video"), track)
        return _media_response(video, file, "text/vtt; charset=utf-8", "public, max-age=86400", f"{track}/0")

    @app.get("/api/v1/video/<video_id>/<variant>/init.mp4", access="media")
    def init_section(video_id, variant):
        video, file = playback.init_section(_id(video_id, "video"), variant)
        return _media_response(video, file, "video/mp4", "public, max-age=86400", f"{variant}/init")

    @app.get("/api/v1/video/<video_id>/<variant>/<index>.<kind:re:ts|m4s>", access="media")
    def segment(video_id, variant, index, kind):
        if not index.isdigit() or len(index) > 6:
            raise not_found("segment")
        video, file = playback.segment(_id(video_id, "video"), variant, f"{int(index)}.{kind}")
        content_type = "video/mp2t" if kind == "ts" else "video/mp4"
        return _media_response(video, file, content_type, "public, max-age=86400", f"{variant}/{index}")

    # -- Progress --------------------------------------------------------------

    @app.get("/api/v1/video/<video_id>/progress")
    def progress(video_id):
        return history.get_progress(identity().user_id, _id(video_id, "video"))

    @app.route("/api/v1/video/<video_id>/progress", method=["PUT", "POST"])  # POST: navigator.sendBeacon
    def save_progress(video_id):
        return history.save_progress(identity().user_id, _id(video_id, "video"), _json_body())

    @app.delete("/api/v1/video/<video_id>/progress")
    def clear_progress(video_id):
        history.clear_progress(identity().user_id, _id(video_id, "video"))
        bottle.response.status = 204

    @app.get("/api/v1/history")
    def watched():
        return _json(history.list_history(identity().user_id, bottle.request.query.get("limit")))

    @app.get("/api/v1/continue")
    def continue_watching():
        return _json(history.continue_watching(identity().user_id))

    @app.delete("/api/v1/continue/<show_id>")
    def dismiss_from_continue(show_id):
        history.dismiss(identity().user_id, _id(show_id, "show"))
        bottle.response.status = 204

    # -- Preferences -----------------------------------------------------------

    @app.get("/api/v1/preferences")
    def playback_preferences():
        return preferences.get_preferences(identity().user_id).as_json()

    @app.put("/api/v1/preferences")
    def save_playback_preferences():
        return preferences.save_preferences(identity().user_id, _json_body()).as_json()

    # -- Accounts --------------------------------------------------------------

    @app.post("/api/v1/auth/login", access="public")
    def login():
        body = _json_object()
        return _signed_in(accounts.sign_in(sign_ins, body.get("username"), body.get("password"), *client()))

    @app.get("/api/v1/auth/setup", access="public")
    def setup_needed():
        return {"needed": setup is not None and setup.pending()}

    @app.post("/api/v1/auth/setup", access="public")
    def setup_admin():
        if setup is None:
            raise HaemaError("accounts are off (--auth false)", 404)
        body = _json_object()
        return _signed_in(setup.create_admin(body.get("token"), body.get("username"), body.get("password"),
                                             *client()))

    @app.post("/api/v1/auth/logout")
    def logout():
        if identity().session_id:
            accounts.close_session(identity().session_id)
        end_session()
        bottle.response.status = 204

    @app.get("/api/v1/auth/me")
    def me():
        return dict(_me(identity()), auth=config.auth)

    @app.put("/api/v1/auth/password")
    def change_password():
        body = _json_object()
        accounts.change_password(identity(), body.get("current"), body.get("password"))
        bottle.response.status = 204

    @app.get("/api/v1/auth/verify", access="proxy")  # nginx auth_request, see signing.py
    def verify():
        bottle.response.status = 204

    @app.get("/api/v1/users", access="admin")
    def users():
        return _json([dataclasses.asdict(account) for account in accounts.list_users()])

    @app.post("/api/v1/users", access="admin")
    def add_user():
        body = _json_object()
        bottle.response.status = 201
        return dataclasses.asdict(accounts.add_user(body.get("username"), body.get("password"),
                                                    body.get("admin") is True))

    @app.delete("/api/v1/users/<name>", access="admin")
    def remove_user(name):
        accounts.remove_user(name)
        bottle.response.status = 204

    @app.put("/api/v1/users/<name>/password", access="admin")
    def reset_password(name):
        accounts.reset_password(name, _json_object().get("password"))
        bottle.response.status = 204

    @app.get("/api/v1/sessions", access="admin")
    def sessions():
        return _json([dict(dataclasses.asdict(s), current=s.id == identity().session_id)
                      for s in accounts.list_sessions()])

    @app.delete("/api/v1/sessions/<session_id>", access="admin")
    def revoke(session_id):
        accounts.close_session(session_id)
        bottle.response.status = 204

    # -- Web UI ----------------------------------------------------------------

    @app.get("/", access="public")
    def index():
        return _static("index.html", STATIC_DIR, cache="no-cache")

    @app.get("/static/<path:path>", access="public")
    def ui_file(path):
        return _static(path, STATIC_DIR, cache="no-cache")

    if config.jellyfin_web:  # Jellyfin's own web client, at the path where Jellyfin serves it
        @app.get("/web", access="public")
        def jellyfin_web_root():
            bottle.redirect("/web/", 301)

        @app.get("/web/", access="public")
        @app.get("/web/<path:path>", access="public")
        def jellyfin_web_file(path="index.html"):
            bottle.request.environ["haema.csp"] = WEB_CLIENT_CSP
            return _static(path, config.jellyfin_web, cache="no-cache")

    jellyfin.install(app, config, library, playback, gate.signer, sign_ins)  # Jellyfin apps (issue #29)

    if config.scan_on_start:
        scanner.start()
    if config.watch:
        watcher.start()
    if serving:
        playback.pool.start()
    return app


# -- Plumbing ------------------------------------------------------------------


def _playlist(video, text, query):
    """Playlists carry the user's signature (``query``): private, and tagged with it."""
    part = f"playlist-{zlib.crc32(query.encode()):x}"
    return _media_response(video, signing.signed_playlist(text, query[1:]), "application/vnd.apple.mpegurl",
                           "private, no-cache", part)


def _media_response(video, body, content_type, cache_control, part):
    """Playlists and segments change only with the file: an ETag from its version."""
    etag = f'"{video.id}-{video.version}-{part.replace("/", "-")}"'
    return _tagged(body, etag, content_type, cache_control)


def _tagged(body, etag, content_type, cache_control):
    """The response, or a 304 to a client that already has this version. ``body`` is
    text, or an open file (a segment) sent from the disk, byte ranges included."""
    headers = {"Content-Type": content_type, "Cache-Control": cache_control, "ETag": etag}
    if bottle.request.headers.get("If-None-Match") == etag:
        if hasattr(body, "close"):
            body.close()
        return bottle.HTTPResponse(status=304, headers=headers)
    if hasattr(body, "fileno"):
        return file_response(body, headers)
    return bottle.HTTPResponse(body, headers=headers)


def _id(value, what):
    """Ids are hex hashes; anything else (``..``, slashes, garbage) is simply unknown."""
    if not ID.fullmatch(value):
        raise not_found(what)
    return value


def _json(value):
    bottle.response.content_type = "application/json"
    return json.dumps(value, ensure_ascii=False)


def _signed_in(session):
    """The cookie for browsers, the token for apps."""
    start_session(session.token)
    return {"token": session.token, "user": _me(session.identity)}


def _me(user):
    return {"name": user.name, "admin": user.admin}


def _json_object():
    body = _json_body()
    if not isinstance(body, dict):
        raise HaemaError("send a JSON object")
    return body


def _json_body():
    """The request body as JSON, whatever its Content-Type (sendBeacon sends text/plain)."""
    try:
        return json.loads(bottle.request.body.read() or b"null")
    except ValueError:  # also UnicodeDecodeError
        raise HaemaError("the request body is not valid JSON") from None


def _static(relpath, root, cache="private, max-age=3600"):
    """``cache="no-cache"``: the browser revalidates (If-Modified-Since), for files that change on upgrade."""
    response = bottle.static_file(relpath, root=root)
    if isinstance(response, bottle.HTTPError):
        raise HaemaError("file not found", 404)
    response.set_header("Cache-Control", cache)
    return response


def setup_token(app):
    """The token of the one-time link that creates the first admin: None once a user
    exists, or with ``--auth false``."""
    setup = app.config["haema.setup"]
    return setup.token if setup is not None else None


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
        except peewee.OperationalError as error:  # locked past busy_timeout, or a read-only disk
            refused = storage.refused(error)
            log.error("%s %s → %d %s", bottle.request.method, bottle.request.path, refused.status, refused.message)
            return _error_response(refused.status, refused.message)
    return wrapper


def _database_connection(callback):
    def wrapper(*args, **kwargs):
        with models.database.connection_context():
            return callback(*args, **kwargs)
    return wrapper


_database_connection.name = "database"  # a route open for hours skips it by name (jellyfin/ws.py)


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
