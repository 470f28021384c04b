"""A Jellyfin-compatible API over Haema's own library, accounts, history and HLS engine.

Jellyfin apps (jellyfin-web, the mobile and TV apps, jellyfin-apiclient-python) speak
Jellyfin's REST API; this package answers the part of it they need to sign in, browse,
play and report progress, mapped onto Haema's catalog (no second model of the library):

- ``ids``: Jellyfin GUIDs derived from Haema's ids, and back;
- ``items``: BaseItemDto and friends as pure functions over catalog rows;
- ``decide``: the PlaybackInfo decision (direct play, HLS copy, HLS transcode) as a pure
  function over the media facts and the client's DeviceProfile;
- ``master``: Haema's master playlist with another audio track as the default;
- ``params``: reading a Jellyfin request (token, query names in any case, bodies);
- ``routes`` mounts them on Haema's app (``install``): ``system`` (server, sign-in, users,
  preferences), ``browsing`` (views, items, home rows, played marks), ``images``, ``playing``
  (PlaybackInfo, streams, subtitles), ``sessions`` (sessions, progress reports) and ``ws``
  (the ``/socket`` WebSocket).
"""
from .routes import install

__all__ = ["install"]
