"""Signed media URLs, for players that send no cookie and no header.

Safari's own player, VLC, TVs and Chromecast fetch playlists and segments with nothing
but the URL. So the URL carries the credential: ``?u=<user id>&exp=<unix time>&sig=<HMAC>``,
the HMAC-SHA256 over video id, user id and expiry, keyed by a secret kept in the database
(every process and restart shares it). One signature covers one video's playlists,
segments and subtitles; playlists pass the query on to every URI in them.

Why a query string and not a path prefix or a per-segment signature: what makes two
segment responses different must not be the credential, or a caching proxy could not share
segment bytes between users. Segment bytes, ETag and ``Cache-Control: public`` are the same
whoever asks; only the query differs, and a proxy keys its cache on the path alone
(nginx: ``proxy_cache_key $uri``). The proxy must still ask Haema whether *this* query is
valid before serving a cached segment: ``GET /api/v1/auth/verify`` with ``X-Original-URI``
answers 204 or 401/403 without touching media (nginx: ``auth_request``; README has the
configuration). Playlists differ per user (they carry the query) and are ``private``.

Expiry is rounded up to the hour, so a user's playlists stay byte-identical (and 304-able)
for an hour. A removed user's signatures stop working at once; a revoked session's stop at
their expiry, at most ``VALID_FOR`` plus an hour later.
"""
import base64
import dataclasses
import hashlib
import hmac
import re
import time
import urllib.parse

from .errors import HaemaError
from .models import Secret

VALID_FOR = 12 * 3600  # s: a film paused overnight may need a reload, a long one played straight may not
ROUND_TO = 3600
KEY_NAME = "media-url-key"

_URI_ATTRIBUTE = re.compile(r'URI="([^"?]*)"')


@dataclasses.dataclass(frozen=True)
class Grant:
    """What a valid signature says: ``user_id`` may fetch the video's media until ``expires``."""

    user_id: int
    expires: int


class Signer:
    def __init__(self, key, clock=time.time):
        self.key, self.clock = key, clock

    def query(self, video_id, user_id):
        """``u=…&exp=…&sig=…`` for ``user_id`` to fetch ``video_id``'s media."""
        expires = -(-int(self.clock() + VALID_FOR) // ROUND_TO) * ROUND_TO
        return urllib.parse.urlencode({"u": user_id, "exp": expires, "sig": self._mac(video_id, user_id, expires)})

    def check(self, video_id, user, expires, signature):
        """The ``Grant`` of a signature from a request's query; 403 if it was forged, altered or has expired."""
        try:
            grant = Grant(int(user), int(expires))
        except (TypeError, ValueError):
            raise HaemaError("this media link is malformed; reopen the video", 403) from None
        expected = self._mac(video_id, grant.user_id, grant.expires)
        if not hmac.compare_digest(expected.encode(), str(signature).encode()):
            raise HaemaError("this media link is not valid; reopen the video", 403)
        if grant.expires < self.clock():
            raise HaemaError("this media link has expired; reopen the video", 403)
        return grant

    def _mac(self, video_id, user_id, expires):
        message = f"{video_id}\n{user_id}\n{expires}".encode()
        digest = hmac.new(self.key, message, hashlib.sha256).digest()[:18]  # 144 bits
        return base64.urlsafe_b64encode(digest).decode()


def signed_playlist(text, query):
    """``text`` with ``?query`` on every URI: the lines that are URIs and ``URI="…"`` attributes."""
    if not query:
        return text
    lines = []
    for line in text.split("\n"):
        if line.startswith("#"):
            line = _URI_ATTRIBUTE.sub(lambda match: f'URI="{match.group(1)}?{query}"', line)
        elif line:
            line = f"{line}?{query}"
        lines.append(line)
    return "\n".join(lines)


def load_key():
    """The signing key, made by whichever process asks first."""
    return Secret.key(KEY_NAME)
