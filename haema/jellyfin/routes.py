"""The Jellyfin routes, mounted on Haema's own Bottle app.

Jellyfin's routing is case-insensitive and clients mix cases (``system/info/public``,
``/System/Info/Public``): a ``before_request`` hook lower-cases the path of every request
under a Jellyfin root before Bottle matches it, and the routes are written in lower case.
Query names are matched case-insensitively too, and list values come comma-joined or
repeated. Routes are ``access="public"`` for Haema's gate and identify the caller here,
from any of the places Jellyfin clients put their token.
"""
import hashlib
import json
import logging
import os
import re
import secrets
import urllib.parse

import bottle

from .. import accounts, catalog, history, probe, signing
from ..errors import HaemaError, not_found
from ..gate import client
from ..models import Video
from ..streaming import file_response
from . import browse, decide, ids, items, master

log = logging.getLogger(__name__)

ROOTS = frozenset({
    "system", "users", "quickconnect", "branding", "displaypreferences", "sessions", "userviews", "items",
    "shows", "videos", "userplayeditems", "userfavoriteitems", "useritems", "persons", "artists", "genres",
    "studios", "movies", "playback", "localization", "mediasegments", "socket", "livetv", "syncplay",
    "playlists", "collections", "plugins", "scheduledtasks", "notifications", "auth", "trickplay",
})
AUTH_FIELD = re.compile(r'(\w+)="([^"]*)"')
CONTENT_TYPES = {"mp4": "video/mp4", "mkv": "video/x-matroska", "webm": "video/webm", "ts": "video/mp2t"}
EMPTY = {"Items": [], "TotalRecordCount": 0, "StartIndex": 0}


def install(app, config, library, playback, signer, sign_ins):
    """Add the Jellyfin API to ``app`` (Haema's ``create_app`` calls this)."""
    server_id = hashlib.md5(f"haema-server:{os.path.realpath(config.target_path)}".encode()).hexdigest()
    preferences = {}  # (user id, id, client) → DisplayPreferencesDto, kept for the life of the process
    unserved = set()

    def lower_path():
        path = bottle.request.environ.get("PATH_INFO", "")
        root = path.lstrip("/").split("/", 1)[0].lower()
        if root in ROOTS:
            bottle.request.environ["PATH_INFO"] = path.lower()
    app.add_hook("before_request", lower_path)

    def route(path, method="GET"):
        return app.route(path, method=method, access="public")

    def who():
        """The Identity of the caller; 401 without a valid token."""
        if not config.auth:
            return accounts.HOUSEHOLD_IDENTITY
        found = accounts.identify(_token())
        if found is None:
            raise HaemaError("sign in first", 401)
        return found

    def snapshot(identity):
        return browse.Snapshot(identity.user_id, server_id)

    # -- System and sign-in ------------------------------------------------------

    @route("/system/info/public")
    def public_info():
        return items.public_info(server_id, "Haema")

    @route("/system/info")
    def system_info():
        who()
        return dict(public_info(), OperatingSystemDisplayName="", HasPendingRestart=False, IsShuttingDown=False,
                    SupportsLibraryMonitor=True, WebSocketPortNumber=0, CanSelfRestart=False,
                    CanLaunchWebBrowser=False, HasUpdateAvailable=False, TranscodingTempPath="", LogPath="",
                    InternalMetadataPath="", CachePath="", ProgramDataPath="", ItemsByNamePath="")

    @route("/system/ping", method=["GET", "POST"])
    def ping():
        return _json("Jellyfin Server")

    @route("/system/endpoint")
    def endpoint():
        who()
        return {"IsLocal": True, "IsInNetwork": True}

    @route("/users/public")
    def public_users():
        return _json([])  # the sign-in form asks for a name: no list of accounts for strangers

    @route("/quickconnect/enabled")
    def quick_connect():
        return _json(False)

    @route("/branding/configuration")
    def branding():
        return {"LoginDisclaimer": "", "CustomCss": "", "SplashscreenEnabled": False}

    @route("/branding/css")
    @route("/branding/css.css")
    def branding_css():
        bottle.response.content_type = "text/css"
        return ""

    @route("/users/authenticatebyname", method="POST")
    def authenticate():
        body = _body()
        name, password = body.get("username"), body.get("pw", body.get("password"))
        if config.auth:
            session = accounts.sign_in(sign_ins, name, password, *client())
            identity, token = session.identity, session.token
        else:
            identity, token = accounts.HOUSEHOLD_IDENTITY, "household"
        header = _auth_fields()
        return {"User": items.user_dto(identity, server_id), "AccessToken": token, "ServerId": server_id,
                "SessionInfo": {"Id": identity.session_id or "household", "UserId": ids.of_user(identity.user_id),
                                "UserName": identity.name, "Client": header.get("client", ""),
                                "DeviceId": header.get("deviceid", ""), "DeviceName": header.get("device", ""),
                                "ApplicationVersion": header.get("version", ""), "ServerId": server_id,
                                "IsActive": True, "SupportsMediaControl": False, "SupportsRemoteControl": False,
                                "PlayableMediaTypes": ["Video"], "SupportedCommands": []}}

    @route("/users/me")
    @route("/users/<user_id>")
    def user(user_id=None):
        return items.user_dto(who(), server_id)

    @route("/users")
    def users():
        return _json([items.user_dto(who(), server_id)])

    @route("/sessions")
    def sessions():
        who()
        return _json([])

    @route("/sessions/capabilities", method="POST")
    @route("/sessions/capabilities/full", method="POST")
    @route("/sessions/playing/ping", method="POST")
    def capabilities():
        who()
        return _no_content()

    @route("/sessions/logout", method="POST")
    def logout():
        identity = who()
        if identity.session_id:
            accounts.close_session(identity.session_id)
        return _no_content()

    @route("/displaypreferences/<pref_id>")
    def display_preferences(pref_id):
        identity = who()
        client_name = _query("client") or "emby"
        default = {"Id": pref_id, "CustomPrefs": {}, "SortBy": "SortName", "SortOrder": "Ascending",
                   "RememberIndexing": False, "RememberSorting": False, "ScrollDirection": "Horizontal",
                   "ShowBackdrop": True, "ShowSidebar": False, "Client": client_name, "PrimaryImageHeight": 250,
                   "PrimaryImageWidth": 250, "IndexBy": None, "ViewType": None}
        return preferences.get((identity.user_id, pref_id, client_name), default)

    @route("/displaypreferences/<pref_id>", method="POST")
    def save_display_preferences(pref_id):
        identity = who()
        body = _raw_body()
        if isinstance(body, dict):
            preferences[identity.user_id, pref_id, _query("client") or "emby"] = dict(body, Id=pref_id)
        return _no_content()

    # -- Browsing ----------------------------------------------------------------

    @route("/userviews")
    @route("/users/<user_id>/views")
    def views(user_id=None):
        found = snapshot(who()).views()
        return {"Items": found, "TotalRecordCount": len(found), "StartIndex": 0}

    @route("/items")
    @route("/users/<user_id>/items")
    def list_items(user_id=None):
        snap = snapshot(who())
        parent = _parent()
        recursive = _flag("recursive") or bool(_query("searchterm"))
        found = snap.children(parent, recursive)
        if parent is None and not recursive and (_list("ids") or _list("includeitemtypes")):
            found = snap.children(None, True)  # a lookup by ids or types means the whole library
        page, total = browse.select(found, _items_query())
        return {"Items": page, "TotalRecordCount": total, "StartIndex": _int("startindex", 0)}

    @route("/items/resume")
    @route("/users/<user_id>/items/resume")
    def resume(user_id=None):
        snap = snapshot(who())
        media = _list("mediatypes")
        if media and "video" not in media:
            return EMPTY
        found = snap.resume()
        parent = _parent()
        if parent is not None:
            allowed = {i["Id"] for i in snap.children(parent, True)}
            found = [i for i in found if i["Id"] in allowed]
        page, total = browse.select(found, _items_query(sort=False))
        return {"Items": page, "TotalRecordCount": total, "StartIndex": _int("startindex", 0)}

    @route("/items/latest")
    @route("/users/<user_id>/items/latest")
    def latest(user_id=None):
        found = snapshot(who()).latest(_parent())
        page, _ = browse.select(found, _items_query(sort=False))
        return _json(page)

    @route("/items/<item_id>")
    @route("/users/<user_id>/items/<item_id>")
    def item(item_id, user_id=None):
        identity = who()
        ref = ids.parse(item_id)
        found = snapshot(identity).get(ref)
        if found is None:
            raise not_found("item")
        if found.get("MediaType") == "Video":
            video = catalog.get_video(ref.id)
            streams = items.media_streams(video.info, found["Id"], _api_key_query())
            decision = decide.Decision("DirectPlay", "") if _direct_candidate(video) else decide.Decision(
                "HLS transcode", "")
            found["MediaStreams"] = streams
            found["MediaSources"] = [items.media_source(video, video.info, decide.container_name(video.info.container),
                                                        decision, streams, None)]
            found["Chapters"], found["People"], found["Studios"], found["Taglines"] = [], [], [], []
        return found

    @route("/shows/nextup")
    def next_up():
        found = snapshot(who()).next_up(_series_id(_query("seriesid")))
        page, total = browse.select(found, _items_query(sort=False))
        return {"Items": page, "TotalRecordCount": total, "StartIndex": _int("startindex", 0)}

    @route("/shows/<series_id>/seasons")
    def seasons(series_id):
        found = snapshot(who()).seasons(_series_id(series_id))
        return {"Items": found, "TotalRecordCount": len(found), "StartIndex": 0}

    @route("/shows/<series_id>/episodes")
    def episodes(series_id):
        snap = snapshot(who())
        show_id = _series_id(series_id)
        season = None
        if _query("seasonid"):
            ref = ids.parse(_query("seasonid"))
            season = ref.season if ref.kind == "season" else None
        elif _query("season"):
            season = _int("season", 0)
        found = snap.episodes(show_id, season)
        start_at = _query("startitemid")
        if start_at:
            guid = start_at.replace("-", "").lower()
            at = next((n for n, e in enumerate(found) if e["Id"] == guid), 0)
            found = found[at:]
        page, total = browse.select(found, _items_query(sort=False))
        return {"Items": page, "TotalRecordCount": total, "StartIndex": _int("startindex", 0)}

    @route("/items/<item_id>/images/<kind>")
    @route("/items/<item_id>/images/<kind>/<index:int>")
    def image(item_id, kind, index=0):
        """Anonymous, as in Jellyfin: ``<img>`` sends no token. Served at its own size."""
        ref = ids.parse(item_id)
        if ref.kind not in ("item", "season"):
            raise not_found("image")
        video = None if ref.kind == "season" else Video.get_or_none(Video.id == ref.id)
        if kind == "primary" and video is not None and video.show.kind == "series" and video.frame:
            return _image_file(video.frame, library.thumbnail_dir)
        show_id = video.show_id if video is not None else ref.id
        if kind not in ("primary", "backdrop", "thumb"):
            raise not_found("image")
        place, relpath = catalog.artwork_path(show_id, "banner" if kind == "backdrop" else "thumbnail")
        return _image_file(relpath, library.thumbnail_dir if place == "frames" else library.root)

    # -- Marking played ------------------------------------------------------------

    @route("/users/<user_id>/playeditems/<item_id>", method=["POST", "DELETE"])
    @route("/userplayeditems/<item_id>", method=["POST", "DELETE"])
    def played(item_id, user_id=None):
        identity = who()
        snap = snapshot(identity)
        ref = ids.parse(item_id)
        targets = _videos_of(snap, ref)
        if not targets:
            raise not_found("item")
        for video in targets:
            if bottle.request.method == "POST":
                history.save_progress(identity.user_id, video.id, {"position": video.duration})
            else:
                history.clear_progress(identity.user_id, video.id)
        return snapshot(identity).get(ref)["UserData"]

    @route("/users/<user_id>/favoriteitems/<item_id>", method=["POST", "DELETE"])
    @route("/userfavoriteitems/<item_id>", method=["POST", "DELETE"])
    def favourite(item_id, user_id=None):
        """Haema keeps no favourites: the item's data, unchanged."""
        found = snapshot(who()).get(ids.parse(item_id))
        if found is None:
            raise not_found("item")
        return found["UserData"]

    # -- Playback ----------------------------------------------------------------

    @route("/items/<item_id>/playbackinfo", method=["GET", "POST"])
    def playback_info(item_id):
        identity = who()
        ref = ids.parse(item_id)
        video = catalog.get_video(ref.id) if ref.kind == "item" else None
        if video is None:
            raise not_found("video")
        body = _body() if bottle.request.method == "POST" else {}
        info = video.info
        streams = items.media_streams(info, ids.of_item(video.id), _api_key_query())
        audio_streams = [s for s in streams if s["Type"] == "Audio"]
        asked = _number(body.get("audiostreamindex", _query("audiostreamindex")))
        position = next((n for n, s in enumerate(audio_streams) if s["Index"] == asked), None)
        default = probe.default_audio(info)
        facts = decide.MediaFacts(container=decide.container_name(info.container), video_codec=info.video.codec,
                                  audio_codecs=tuple(t.codec for t in info.audio),
                                  default_audio=info.audio.index(default) if default else -1,
                                  copyable=probe.is_copyable(info))
        decision = decide.decide(facts, body.get("deviceprofile"), position)
        session = secrets.token_hex(16)
        query = {"PlaySessionId": session}
        if config.auth:
            query.update(urllib.parse.parse_qsl(signer.query(video.id, identity.user_id)))
        if position is None or position == facts.default_audio:
            url = f"/api/v1/video/{video.id}/master.m3u8?{urllib.parse.urlencode(query)}"
        else:  # Haema's master, with the asked track as the one players start on
            query["AudioPosition"] = position
            url = f"/videos/{ids.of_item(video.id)}/master.m3u8?{urllib.parse.urlencode(query)}"
        log.info("jellyfin: PlaybackInfo %s (%s) → %s (%s)", items.title(video.show if video.show.kind == "movie"
                                                                          else video), ids.of_item(video.id),
                 decision.method, decision.reason)
        source = items.media_source(video, info, facts.container, decision, streams, url)
        if asked is not None and any(s["Index"] == asked for s in audio_streams):
            source["DefaultAudioStreamIndex"] = asked
        return {"MediaSources": [source], "PlaySessionId": session}

    @route("/videos/<item_id>/master.m3u8")
    def master_playlist(item_id):
        """The TranscodingUrl after an audio switch, signed like Haema's own (``u``, ``exp``, ``sig``);
        also Jellyfin's own HLS URL for clients that build it themselves (``api_key``, ``AudioStreamIndex``:
        the video is stream 0, the audio tracks come next)."""
        video_id = ids.parse(item_id).id
        query = ""
        if config.auth and _query("sig") is not None:
            signer.check(video_id, _query("u"), _query("exp"), _query("sig"))
            query = urllib.parse.urlencode({key: _query(key) for key in ("u", "exp", "sig")})
        elif config.auth:
            query = signer.query(video_id, who().user_id)
        position = _number(_query("audioposition"))
        if position is None:
            position = max(0, (_number(_query("audiostreamindex")) or 1) - 1)
        video, text = playback.master(video_id)
        text = master.with_default_audio(text, position, f"/api/v1/video/{video.id}/")
        return bottle.HTTPResponse(signing.signed_playlist(text, query),
                                   headers={"Content-Type": "application/vnd.apple.mpegurl",
                                            "Cache-Control": "private, no-cache"})

    @route("/videos/<item_id>/stream")
    @route("/videos/<item_id>/stream.<ext>")
    def stream(item_id, ext=None):
        """The file itself, byte ranges included (direct play)."""
        who()
        ref = ids.parse(item_id)
        video = catalog.get_video(ref.id)
        path = library.resolve(video.path)
        if path is None:
            raise not_found("video file")
        container = decide.container_name(video.info.container)
        log.info("jellyfin: direct stream %s (%s)", ids.of_item(video.id), video.path)
        return file_response(open(path, "rb"), {"Content-Type": CONTENT_TYPES.get(container,
                                                                                  "application/octet-stream"),
                                                "Cache-Control": "private, max-age=3600"})

    @route("/videos/<item_id>/<source_id>/subtitles/<index:int>/stream.<fmt>")
    @route("/videos/<item_id>/<source_id>/subtitles/<index:int>/<start>/stream.<fmt>")
    def subtitle(item_id, source_id, index, fmt, start=None):
        """A subtitle stream as WebVTT, or as the JSON track events jellyfin-web renders itself."""
        who()
        video = catalog.get_video(ids.parse(item_id).id)
        position = index - 1 - len(video.info.audio)
        if position < 0 or fmt not in ("vtt", "js"):
            raise not_found("subtitles")
        _, file = playback.subtitles(video.id, f"subtitles_{position}")
        with file:
            text = file.read().decode("utf-8")
        if fmt == "vtt":
            return bottle.HTTPResponse(text, headers={"Content-Type": "text/vtt; charset=utf-8"})
        return {"TrackEvents": [{"Id": str(n + 1), "StartPositionTicks": items.ticks(cue[0]),
                                 "EndPositionTicks": items.ticks(cue[1]), "Text": cue[2]}
                                for n, cue in enumerate(_vtt_cues(text))]}

    @route("/videos/activeencodings", method="DELETE")
    def active_encodings():
        """Haema's segments are shared and cached: nothing to stop per client."""
        who()
        return _no_content()

    # -- Progress ----------------------------------------------------------------

    @route("/sessions/playing", method="POST")
    @route("/sessions/playing/progress", method="POST")
    @route("/sessions/playing/stopped", method="POST")
    def playing():
        identity = who()
        body = _body()
        if body.get("itemid") and "positionticks" in body:
            ref = ids.parse(str(body["itemid"]))
            video = catalog.get_video(ref.id)
            seconds = items.played_position(body["positionticks"], video.duration)
            if seconds > 0 or bottle.request.path.endswith("/stopped"):
                history.save_progress(identity.user_id, video.id, {"position": seconds})
        return _no_content()

    # -- What Haema has nothing for: empty answers, so clients carry on ------------

    @route("/items/<item_id>/similar")
    @route("/users/<user_id>/items/<item_id>/intros")
    @route("/items/<item_id>/intros")
    @route("/persons")
    @route("/artists")
    @route("/genres")
    @route("/studios")
    @route("/mediasegments/<item_id>")
    @route("/playlists")
    def nothing(**_):
        who()
        return EMPTY

    @route("/users/<user_id>/items/<item_id>/specialfeatures")
    @route("/items/<item_id>/specialfeatures")
    @route("/users/<user_id>/items/<item_id>/localtrailers")
    @route("/items/<item_id>/localtrailers")
    @route("/movies/recommendations")
    @route("/localization/cultures")
    @route("/localization/countries")
    def nothing_list(**_):
        who()
        return _json([])

    @route("/items/<item_id>/thememedia")
    def theme_media(item_id):
        who()
        return {"ThemeVideosResult": EMPTY, "ThemeSongsResult": EMPTY, "SoundtrackSongsResult": EMPTY}

    @route("/items/filters")
    def filters():
        who()
        return {"Genres": [], "Tags": [], "OfficialRatings": [], "Years": []}

    @route("/socket")
    def socket():
        """No WebSocket: clients retry quietly and work without it."""
        raise HaemaError("the Jellyfin WebSocket is not served", 404)

    @route("/<root:re:%s>/<rest:path>" % "|".join(sorted(ROOTS)), method=["GET", "POST", "DELETE"])
    def unsupported(root, rest):
        """Logged once per path (up to a thousand), so a client's needs show in the log."""
        path = f"/{root}/{rest}"
        if path not in unserved and len(unserved) < 1000:
            unserved.add(path)
            log.info("jellyfin: %s %s is not served (404)", bottle.request.method, path)
        raise HaemaError("not served by Haema", 404)

    def _image_file(relpath, root):
        response = bottle.static_file(relpath, root=root)
        if isinstance(response, bottle.HTTPError):
            raise not_found("image")
        response.set_header("Cache-Control", "public, max-age=86400")
        return response

    def _api_key_query():
        token = _token()
        return f"?api_key={urllib.parse.quote(token)}" if config.auth and token else ""

    def _direct_candidate(video):
        info = video.info
        default = probe.default_audio(info)
        facts = decide.MediaFacts(decide.container_name(info.container), info.video.codec,
                                  tuple(t.codec for t in info.audio),
                                  info.audio.index(default) if default else -1, probe.is_copyable(info))
        return decide.decide(facts, None).direct


# -- Request parsing -------------------------------------------------------------


def _auth_fields():
    """The fields of ``Authorization: MediaBrowser Client="…", Token="…"`` (or X-Emby-Authorization),
    names lower-cased, values URL-decoded (the SDK encodes them)."""
    for name in ("Authorization", "X-Emby-Authorization"):
        value = bottle.request.get_header(name, "")
        scheme = value.split(" ", 1)[0].lower()
        if scheme in ("mediabrowser", "emby"):
            return {k.lower(): urllib.parse.unquote(v) for k, v in AUTH_FIELD.findall(value)}
    return {}


def _token():
    """Wherever the client put it; an empty one is none (the SDK sends ``Token=""`` before sign-in)."""
    return (_auth_fields().get("token") or bottle.request.get_header("X-Emby-Token")
            or bottle.request.get_header("X-MediaBrowser-Token") or _query("api_key") or _query("apikey") or None)


def _params():
    """The query as text: Bottle keeps it as Latin-1 until asked, "Amélie" arrives as UTF-8."""
    try:
        return bottle.request.query.decode().allitems()
    except UnicodeDecodeError:
        raise HaemaError("the query string is not UTF-8") from None


def _query(name):
    for key, value in _params():
        if key.lower() == name:
            return value
    return None


def _list(name):
    """Comma-joined or repeated, lower-cased."""
    found = []
    for key, value in _params():
        if key.lower() == name:
            found += [v.strip().lower() for v in value.split(",") if v.strip()]
    return tuple(found)


def _flag(name):
    return (_query(name) or "").lower() == "true"


def _int(name, default):
    value = _query(name)
    try:
        return max(0, int(value)) if value not in (None, "") else default
    except ValueError:
        raise HaemaError(f"{name} must be a whole number") from None


def _number(value):
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _parent():
    value = _query("parentid")
    return ids.parse(value) if value else None


def _series_id(value):
    if not value:
        return None
    ref = ids.parse(value)
    if ref.kind != "item":
        raise not_found("series")
    return ref.id


def _items_query(sort=True):
    played = _query("isplayed")
    return browse.Query(
        include_types=_list("includeitemtypes"), exclude_types=_list("excludeitemtypes"),
        media_types=_list("mediatypes"), search=_query("searchterm") or None,
        ids=tuple(i.replace("-", "") for i in _list("ids")), filters=_list("filters"),
        is_played=None if played is None else played.lower() == "true",
        sort_by=_list("sortby") if sort else (), descending=(_query("sortorder") or "").lower().startswith("desc"),
        start=_int("startindex", 0), limit=_int("limit", 0) or None)


def _videos_of(snap, ref):
    """The videos an item stands for: itself, or a series' or season's episodes."""
    if ref.kind == "view":
        return []
    show_id = ref.id
    videos = snap.videos.get(show_id)
    if videos is None:
        return [v for vs in snap.videos.values() for v in vs if v.id == ref.id]
    if ref.kind == "season":
        return [v for v in videos if (v.season or 0) == ref.season]
    return videos


def _raw_body():
    try:
        return json.loads(bottle.request.body.read() or b"null")
    except ValueError:
        raise HaemaError("the request body is not valid JSON") from None


def _body():
    """The JSON object of the body, keys lower-cased (clients send PascalCase or camelCase)."""
    body = _raw_body()
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise HaemaError("send a JSON object")
    return {key.lower(): value for key, value in body.items()}


def _json(value):
    bottle.response.content_type = "application/json"
    return json.dumps(value, ensure_ascii=False)


def _no_content():
    return bottle.HTTPResponse(status=204)


def _vtt_cues(text):
    """``(start, end, text)`` of each cue of a WebVTT file, lines joined with ``\\N`` as Jellyfin does."""
    cues = []
    for block in re.split(r"\n\s*\n", text.replace("\r\n", "\n")):
        lines = block.strip().split("\n")
        for n, line in enumerate(lines):
            if "-->" in line:
                start, end = (part.strip().split(" ")[0] for part in line.split("-->", 1))
                cues.append((_seconds(start), _seconds(end), "\\N".join(lines[n + 1:])))
                break
    return cues


def _seconds(clock):
    parts = [float(p) for p in clock.split(":")]
    return sum(p * 60 ** n for n, p in enumerate(reversed(parts)))
