"""The Jellyfin routes, mounted on Haema's own Bottle app.

Jellyfin's routing is case-insensitive and clients mix cases (``system/info/public``,
``/System/Info/Public``): a ``before_request`` hook lower-cases the path of every request
under a Jellyfin root before Bottle matches it (``routed_path``), and the routes are written
in lower case.
Routes are ``access="public"`` for Haema's gate and identify the caller themselves
(``Context.who``), from any of the places Jellyfin clients put their token (params.py).
The routes live by concern in system.py, browsing.py, images.py, playing.py, sessions.py and ws.py.
"""
import collections
import hashlib
import json
import logging
import os
import re
import time
import urllib.parse

import bottle

from .. import accounts
from ..errors import HaemaError
from ..models import Generation
from ..previews import Previews
from . import browse, browsing, images, params, playing, sessions, system, ws

log = logging.getLogger(__name__)

ROOTS = frozenset({
    "system", "users", "quickconnect", "branding", "displaypreferences", "sessions", "userviews", "items",
    "shows", "videos", "userplayeditems", "userfavoriteitems", "useritems", "persons", "artists", "genres",
    "studios", "movies", "playback", "localization", "mediasegments", "socket", "livetv", "syncplay",
    "playlists", "collections", "plugins", "scheduledtasks", "notifications", "auth", "trickplay", "playingitems",
})


# A snapshot of 1,000 videos with its lists is about 4 MB: kept for a household's few users
# while they browse, let go a minute after, and at once when anything changes.
SNAPSHOTS_KEPT = 4
SNAPSHOT_IDLE = 60  # seconds
HAEMA_ROOTS = frozenset({"api", "static", "web"})  # Haema's own first path segments (web.py)


def routed_path(path):
    """The path Bottle routes for a request of ``path``, or None to leave it: a Jellyfin path is
    lower-cased (Jellyfin routes ignore case), and loses a base path that a client put first
    (Haema given to it as ``http://host/jellyfin``), so ``/jellyfin/api/v1/…`` (a TranscodingUrl
    the client prefixed) and ``/jellyfin/web/`` are Haema's own again."""
    parts = path.lstrip("/").split("/")
    if parts[0].lower() in ROOTS:
        return path.lower()
    if len(parts) < 2 or parts[0].lower() in HAEMA_ROOTS:
        return None
    rest = "/" + "/".join(parts[1:])
    if parts[1].lower() in ROOTS:
        return rest.lower()
    return rest if parts[1] in HAEMA_ROOTS else None


ID_SEGMENT = re.compile(r"[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{16}|\d+")


def path_template(path):
    """``path`` with its ids and numbers as ``{id}``: ``/items/{id}/instantmix`` for every item."""
    return "/".join("{id}" if ID_SEGMENT.fullmatch(part) else part for part in path.split("/"))


class Context:
    """What the routes share: Haema's parts, the server's id, and who is asking."""

    def __init__(self, app, config, library, playback, signer, sign_ins):
        self.app, self.config, self.library, self.playback = app, config, library, playback
        self.signer, self.sign_ins = signer, sign_ins
        self.live = sessions.Live()
        self.previews = Previews(config.target_path, library.trickplay_dir, playback.pool)
        self._snapshots = collections.OrderedDict()  # user id → (generation, last used, browse.Snapshot)
        self.server_id = hashlib.md5(f"haema-server:{os.path.realpath(config.target_path)}".encode()).hexdigest()

    def route(self, path, method="GET", **options):
        """Public to Haema's gate (``who`` checks Jellyfin's tokens); ``jellyfin=True`` marks the route
        for the test that every Jellyfin route but sign-in and images asks for a token."""
        return self.app.route(path, method=method, access="public", jellyfin=True, **options)

    def who(self):
        """The Identity of the caller; 401 without a valid token."""
        if not self.config.auth:
            self.live.seen(sessions.HOUSEHOLD, params.auth_fields())
            return accounts.HOUSEHOLD_IDENTITY
        found = accounts.identify(params.token())
        if found is None:
            raise HaemaError("sign in first", 401)
        self.live.seen(found.session_id, params.auth_fields())
        return found

    def snapshot(self, identity):
        """The catalog as ``identity`` sees it, kept until the library or anyone's history changes
        (models.Generation, which the database's triggers count), for the last few users browsing."""
        generation, now = Generation.current(), time.monotonic()
        for user, (made_at, used, _) in list(self._snapshots.items()):
            if made_at != generation or now - used > SNAPSHOT_IDLE:
                del self._snapshots[user]
        _, _, found = self._snapshots.pop(identity.user_id, None) or (
            None, None, browse.Snapshot(identity.user_id, self.server_id))
        self._snapshots[identity.user_id] = (generation, now, found)
        while len(self._snapshots) > SNAPSHOTS_KEPT:
            self._snapshots.popitem(last=False)
        return found

    def api_key_query(self):
        """``?api_key=…`` for URLs a client fetches without headers (subtitles)."""
        token = params.token()
        return f"?api_key={urllib.parse.quote(token)}" if self.config.auth and token else ""


def install(app, config, library, playback, signer, sign_ins):
    """Add the Jellyfin API to ``app`` (Haema's ``create_app`` calls this, after its own routes)."""
    ctx = Context(app, config, library, playback, signer, sign_ins)
    unserved = set()

    def jellyfin_path():
        path = routed_path(bottle.request.environ.get("PATH_INFO", ""))
        if path is not None:
            bottle.request.environ["PATH_INFO"] = path
    app.add_hook("before_request", jellyfin_path)

    system.add(app, ctx)
    browsing.add(app, ctx)
    images.add(app, ctx)
    playing.add(app, ctx)
    sessions.add(app, ctx)
    ws.add(app, ctx)

    roots = "|".join(sorted(ROOTS))

    @ctx.route(f"/<root:re:{roots}>", method=["GET", "POST", "DELETE"])
    @ctx.route(f"/<root:re:{roots}>/<rest:path>", method=["GET", "POST", "DELETE"])
    def unsupported(root, rest=None):
        """A 404 logged once per path template (up to a thousand), so a client's needs show in the
        log without a line each time it retries or for each item: Live TV, music, plugins…"""
        path = path_template(f"/{root}/{rest}" if rest else f"/{root}")
        if path not in unserved and len(unserved) < 1000:
            unserved.add(path)
            log.info("jellyfin: %s %s is not served (404)", bottle.request.method, path)
        return bottle.HTTPResponse(json.dumps({"error": "not served by Haema"}), status=404,
                                   headers={"Content-Type": "application/json"})
