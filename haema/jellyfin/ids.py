"""Jellyfin ids: 32-hex GUIDs (dashes optional on input) derived from Haema's 16-hex ids.

A video (a movie or an episode) and a series are their Haema id followed by sixteen zeros;
a season is its series' id, a marker and the season number; the two views and users are
fixed hashes. So every GUID maps back without a table."""
import dataclasses
import hashlib
import re

from ..errors import not_found

GUID = re.compile(r"[0-9a-f]{32}")
PLAIN = "0" * 16
SEASON = "5ea5"
MOVIES_VIEW = hashlib.md5(b"haema-view-movies").hexdigest()
SHOWS_VIEW = hashlib.md5(b"haema-view-tvshows").hexdigest()


@dataclasses.dataclass(frozen=True)
class Ref:
    """What a GUID names: ``kind`` is "view", "item" (a video or a series) or "season"."""

    kind: str
    id: str  # Haema's id (show or video), or the GUID itself for a view
    season: int = None


def of_item(haema_id):
    return haema_id + PLAIN


def of_season(show_id, season):
    return f"{show_id}{SEASON}{(season or 0) & 0xffffffff:012x}"


def of_user(user_id):
    return hashlib.md5(f"haema-user-{user_id}".encode()).hexdigest()


def parse(text):
    """The ``Ref`` of a GUID as clients send it (any case, dashes or not); 404 if it is none of ours."""
    guid = (text or "").replace("-", "").lower()
    if not GUID.fullmatch(guid):
        raise not_found("item")
    if guid in (MOVIES_VIEW, SHOWS_VIEW):
        return Ref("view", guid)
    head, tail = guid[:16], guid[16:]
    if tail == PLAIN:
        return Ref("item", head)
    if tail.startswith(SEASON):
        return Ref("season", head, int(tail[4:], 16))
    raise not_found("item")
