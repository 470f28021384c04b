"""Who may do what: the one Bottle plugin every route passes through, and the browser-side rules.

Every route states its access in its config (``@app.get(path, access=...)``):

- ``"user"`` (the default, so a new route is closed until said otherwise): a session, by
  cookie or by ``Authorization: Bearer``; else 401.
- ``"admin"``: a session of an admin; else 401 or 403.
- ``"media"``: playlists, segments and subtitles of the video in the path: a session, or a
  signed URL for that video (see signing.py); 401 without either, 403 for a bad signature.
- ``"proxy"``: as ``"media"``, for the URL in ``X-Original-URI``: a caching proxy asks this
  before it serves a cached segment (nginx ``auth_request``).
- ``"public"``: sign-in, setup, and the web UI's own files.

With ``--auth false`` every request acts for the household (``accounts.HOUSEHOLD_IDENTITY``).

Cross-site requests: a state-changing request (POST, PUT, DELETE) whose ``Origin`` (or,
without one, ``Referer``) names another site is refused, and one authenticated by the
cookie must name this site: the cookie is ``SameSite=Lax``, but a sibling subdomain is
"same site". No route sends CORS headers, so other sites cannot read any answer.
"""
import logging
import re
import urllib.parse

import bottle

from . import accounts
from .errors import HaemaError

log = logging.getLogger(__name__)

COOKIE = "haema_session"
COOKIE_AGE = 400 * 86400  # the longest browsers keep; the session itself ends after 30 idle days
UNSAFE = frozenset({"POST", "PUT", "DELETE", "PATCH"})
MEDIA_PATH = re.compile(r"/api/v1/video/([0-9a-f]{16})/")
ACCESS = ("public", "user", "admin", "media", "proxy")

SECURITY_HEADERS = {
    # hls.js feeds MediaSource from blob: URLs, runs its demuxer in a blob: worker, and
    # makes its text and metadata tracks as <track src="data:,WEBVTT"> (media-src data:;
    # a track's text is never run)
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                               "media-src 'self' blob: data:; worker-src 'self' blob:; connect-src 'self'; "
                               "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    # same-origin: requests to Haema keep Origin (the CSRF check needs it); other sites never see a signed URL
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",  # frame-ancestors for browsers without CSP level 2
}
# jellyfin-web (--jellyfin-web), served at /web/, is another project's code: React/emotion write
# inline styles, libass and hls.js run WebAssembly and blob: workers, posters and subtitles come as
# blob:/data: URLs. Only its files get this policy; scripts still come from this server alone.
WEB_CLIENT_CSP = ("default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; "
                  "img-src 'self' data: blob:; font-src 'self' data:; media-src 'self' blob:; "
                  "worker-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'self'; "
                  "form-action 'self'; frame-ancestors 'none'")


class Gate:
    """The authentication plugin. ``request.environ["haema.identity"]`` is the ``Identity``
    a route acts for (None only on a public route without a session)."""

    name, api = "gate", 2

    def __init__(self, auth, signer):
        self.auth, self.signer = auth, signer

    def apply(self, callback, route):
        access = route.config.get("access", "user")
        if access not in ACCESS:
            raise ValueError(f"route {route.rule}: access {access!r} is not one of {ACCESS}")

        def wrapper(*args, **kwargs):
            _check_origin()
            if access == "proxy":
                found = self.identify("media", *_original_uri())
            else:
                found = self.identify(access, kwargs.get("video_id"))
            bottle.request.environ["haema.identity"] = found
            return callback(*args, **kwargs)
        return wrapper

    # -- Who is asking -----------------------------------------------------------

    def identify(self, access, video_id=None, query=None):
        """The Identity for a route of ``access``; raises 401/403. ``query``: of another URL (verify)."""
        if not self.auth:
            return accounts.HOUSEHOLD_IDENTITY
        identity, by_cookie = _session()
        if by_cookie and bottle.request.method in UNSAFE and not _origin_of_request():
            raise HaemaError("a request made with the session cookie must come from Haema's own pages", 403)
        if identity is not None:
            if access == "admin" and not identity.admin:
                raise HaemaError("only an admin may do this", 403)
            return identity
        if access == "public":
            return None
        query = bottle.request.query if query is None else query
        if access == "media" and "sig" in query:
            grant = self.signer.check(video_id, query.get("u"), query.get("exp"), query.get("sig"))
            identity = accounts.identity_of(grant.user_id)
            if identity is None:
                raise HaemaError("this media link's user no longer exists", 403)
            bottle.request.environ["haema.signed"] = True
            return identity
        raise HaemaError("sign in first", 401)

    def media_query(self, video_id):
        """``?…`` to append to ``video_id``'s media URLs for the current request: the query it
        came with if that was signed, a new signature otherwise, nothing with auth off."""
        if not self.auth:
            return ""
        if bottle.request.environ.get("haema.signed"):
            query = bottle.request.query
            return "?" + urllib.parse.urlencode({key: query.get(key) for key in ("u", "exp", "sig")})
        return "?" + self.signer.query(video_id, bottle.request.environ["haema.identity"].user_id)


def identity():
    return bottle.request.environ["haema.identity"]


def start_session(token):
    """The cookie of a new session: HttpOnly (no script reads it), SameSite=Lax, Secure over HTTPS."""
    bottle.response.set_cookie(COOKIE, token, path="/", httponly=True, samesite="lax", max_age=COOKIE_AGE,
                               secure=bottle.request.urlparts.scheme == "https")


def end_session():
    bottle.response.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax")


def client():
    """``(address, user agent)`` for sessions and the sign-in brakes. The socket's address, never
    ``X-Forwarded-For``, which any client can write."""
    return bottle.request.environ.get("REMOTE_ADDR", ""), bottle.request.get_header("User-Agent", "")


def add_security_headers():
    """An ``after_request`` hook: every answer, the UI's pages first of all, gets these."""
    for name, value in SECURITY_HEADERS.items():
        bottle.response.set_header(name, value)
    if "haema.csp" in bottle.request.environ:  # a route that serves another policy's pages (jellyfin-web)
        bottle.response.set_header("Content-Security-Policy", bottle.request.environ["haema.csp"])


def _session():
    """``(Identity or None, whether the cookie carried it)``; a bearer token wins over the cookie."""
    header = bottle.request.get_header("Authorization", "")
    if header[:7].lower() == "bearer ":
        return accounts.identify(header[7:].strip()), False
    token = bottle.request.get_cookie(COOKIE)
    return (accounts.identify(token), True) if token else (None, False)


def _original_uri():
    """``(video id or None, query)`` of the URL a proxy asks about."""
    uri = urllib.parse.urlsplit(bottle.request.get_header("X-Original-URI", ""))
    match = MEDIA_PATH.match(uri.path)
    return (match.group(1) if match else None), bottle.FormsDict(urllib.parse.parse_qsl(uri.query))


def _check_origin():
    """Any state-changing request that names another site is refused, signed in or not."""
    if bottle.request.method in UNSAFE and _origin_of_request() is False:
        log.warning("%s %s refused: from another site (%s)", bottle.request.method, bottle.request.path,
                    bottle.request.get_header("Origin") or "Referer")
        raise HaemaError("requests from other sites are refused", 403)


def _origin_of_request():
    """True: Origin (or Referer) is this site; False: another; None: the request names none."""
    named = bottle.request.get_header("Origin") or bottle.request.get_header("Referer")
    if not named:
        return None
    return urllib.parse.urlsplit(named).netloc == bottle.request.urlparts.netloc
