"""Reading a Jellyfin client's request: its token wherever the client put it, query names in any
case with list values comma-joined or repeated, JSON bodies in PascalCase or camelCase."""
import json
import re
import urllib.parse

import bottle

from ..errors import HaemaError, not_found
from . import browse, ids

AUTH_FIELD = re.compile(r'(\w+)="([^"]*)"')

def auth_fields():
    """The fields of ``Authorization: MediaBrowser Client="…", Token="…"`` (or X-Emby-Authorization),
    names lower-cased, values URL-decoded (the SDK encodes them)."""
    for name in ("Authorization", "X-Emby-Authorization"):
        value = bottle.request.get_header(name, "")
        scheme = value.split(" ", 1)[0].lower()
        if scheme in ("mediabrowser", "emby"):
            return {k.lower(): urllib.parse.unquote(v) for k, v in AUTH_FIELD.findall(value)}
    return {}


def token():
    """Wherever the client put it; an empty one is none (the SDK sends ``Token=""`` before sign-in)."""
    return (auth_fields().get("token") or bottle.request.get_header("X-Emby-Token")
            or bottle.request.get_header("X-MediaBrowser-Token") or query("api_key") or query("apikey") or None)


def pairs():
    """The query as text: Bottle keeps it as Latin-1 until asked, "Amélie" arrives as UTF-8."""
    try:
        return bottle.request.query.decode().allitems()
    except UnicodeDecodeError:
        raise HaemaError("the query string is not UTF-8") from None


def query(name):
    for key, value in pairs():
        if key.lower() == name:
            return value
    return None


def listed(name):
    """Comma-joined or repeated, lower-cased."""
    found = []
    for key, value in pairs():
        if key.lower() == name:
            found += [v.strip().lower() for v in value.split(",") if v.strip()]
    return tuple(found)


def split(values):
    """Jellyfin joins some lists with "|" (``Genres=Action|Drama``), others with commas."""
    return tuple(part.strip() for value in values for part in value.split("|") if part.strip())


def flag(name):
    return (query(name) or "").lower() == "true"


def integer(name, default):
    value = query(name)
    try:
        return max(0, int(value)) if value not in (None, "") else default
    except ValueError:
        raise HaemaError(f"{name} must be a whole number") from None


def number(value):
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def parent():
    value = query("parentid")
    return ids.parse(value) if value else None


def series_id(value):
    if not value:
        return None
    ref = ids.parse(value)
    if ref.kind != "item":
        raise not_found("series")
    return ref.id


def items_query(sort=True):
    played, favourite = query("isplayed"), query("isfavorite")
    return browse.Query(
        include_types=listed("includeitemtypes"), exclude_types=listed("excludeitemtypes"),
        media_types=listed("mediatypes"), search=query("searchterm") or None,
        ids=tuple(i.replace("-", "") for i in listed("ids")), filters=listed("filters"),
        genres=tuple(i.replace("-", "") for i in split(listed("genreids"))) + tuple(map(ids.of_genre,
                                                                                     split(listed("genres")))),
        is_played=None if played is None else played.lower() == "true",
        is_favorite=None if favourite is None else favourite.lower() == "true",
        sort_by=listed("sortby") if sort else (), descending=(query("sortorder") or "").lower().startswith("desc"),
        start=integer("startindex", 0), limit=integer("limit", 0) or None)


def raw_body():
    try:
        return json.loads(bottle.request.body.read() or b"null")
    except ValueError:
        raise HaemaError("the request body is not valid JSON") from None


def body():
    """The JSON object of the body, keys lower-cased (clients send PascalCase or camelCase)."""
    body = raw_body()
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise HaemaError("send a JSON object")
    return {key.lower(): value for key, value in body.items()}


def as_json(value):
    bottle.response.content_type = "application/json"
    return json.dumps(value, ensure_ascii=False)


def no_content():
    return bottle.HTTPResponse(status=204)
