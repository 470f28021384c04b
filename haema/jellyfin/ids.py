"""Jellyfin ids: 32-hex GUIDs (dashes optional on input) derived from Haema's 16-hex ids.

A video (a movie or an episode) and a series are their Haema id followed by sixteen zeros;
a season is its series' id, a marker and the season number; a genre is a hash of its folded
name and another marker; the two views and users are fixed hashes. So every GUID maps back
without a table (a genre to its hash, which the library's genres are looked up by)."""
import dataclasses
import hashlib
import re

from ..errors import not_found
from ..models import fold

GUID = re.compile(r"[0-9a-f]{32}")
PLAIN = "0" * 16
SEASON = "5ea5"
GENRE_TAIL = "9e4e" + "0" * 12
MOVIES_VIEW = hashlib.md5(b"haema-view-movies").hexdigest()
SHOWS_VIEW = hashlib.md5(b"haema-view-tvshows").hexdigest()


@dataclasses.dataclass(frozen=True)
class Ref:
    """What a GUID names: a view, an item (a video or a series), a season or a genre."""

    kind: str  # "view", "item", "season" or "genre"
    id: str  # Haema's id (show or video), a genre's hash, or the GUID itself for a view
    season: int = None


def of_item(haema_id):
    return haema_id + PLAIN


def of_season(show_id, season):
    return f"{show_id}{SEASON}{(season or 0) & 0xffffffff:012x}"


def of_genre(name):
    """Genres are told apart as search tells words apart: by case and accents folded away."""
    return hashlib.sha256(f"haema-genre:{fold(name.strip())}".encode()).hexdigest()[:16] + GENRE_TAIL


def favourite_key(ref):
    """How ``models.Favourite`` names the item of ``ref``: Haema's id, or a series' id and a
    season; None for what cannot be a favourite (a view, a genre)."""
    if ref.kind == "item":
        return ref.id
    if ref.kind == "season":
        return f"{ref.id}/season/{ref.season}"
    return None


def of_favourite_key(key):
    show_id, _, season = key.partition("/season/")
    return of_season(show_id, int(season)) if season else of_item(key)


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
    if tail == GENRE_TAIL:
        return Ref("genre", head)
    raise not_found("item")
