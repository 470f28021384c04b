"""Jellyfin routes: sessions (who is signed in where, and what they are playing) and the
playback reports that write Haema's watch history.

Sessions are Haema's own (accounts.Session: one per sign-in). What Jellyfin adds to them,
the app and device a session's requests name (``Authorization: MediaBrowser Client=…``)
and what it reports playing, is kept in this process only (``Live``): it is what a
dashboard shows now, not history, and each node of a cluster knows its own clients'.
Positions go to Haema's history, which every node shares.
"""
import dataclasses
import datetime

import bottle

from .. import accounts, catalog, history
from ..models import User
from . import ids, items, params


HOUSEHOLD = "household"  # the one session there is with accounts off


@dataclasses.dataclass(frozen=True)
class Device:
    """The app a session's requests come from, as its Authorization header names it."""

    client: str = ""
    name: str = ""
    id: str = ""
    version: str = ""


@dataclasses.dataclass(frozen=True)
class NowPlaying:
    item_id: str  # Jellyfin GUID
    position_ticks: int
    paused: bool
    play_method: str
    audio_stream: int = None
    subtitle_stream: int = None


class Live:
    """Each session's device and what it plays, in this process (bounded: at most ``MOST`` each)."""

    MOST = 10_000

    def __init__(self):
        self.devices, self.playing = {}, {}

    def seen(self, session_id, fields):
        """A request of ``session_id`` came with these Authorization ``fields`` (params.auth_fields)."""
        device = Device(fields.get("client", ""), fields.get("device", ""), fields.get("deviceid", ""),
                        fields.get("version", ""))
        if fields and self.devices.get(session_id) != device:
            if len(self.devices) >= self.MOST:
                self.devices.clear()
            self.devices[session_id] = device

    def report(self, session_id, playing):
        if playing is None:
            self.playing.pop(session_id, None)
        elif session_id in self.playing or len(self.playing) < self.MOST:
            self.playing[session_id] = playing


def session_dto(session_id, user_id, user_name, last_active, address, device, playing, now_playing_item, server_id):
    """SessionInfoDto. No remote control: Haema sends no commands to apps."""
    state = {"CanSeek": playing is not None, "IsPaused": bool(playing and playing.paused), "IsMuted": False,
             "RepeatMode": "RepeatNone", "PlaybackOrder": "Default"}
    if playing is not None:
        state.update(PositionTicks=playing.position_ticks, PlayMethod=playing.play_method,
                     MediaSourceId=playing.item_id, AudioStreamIndex=playing.audio_stream,
                     SubtitleStreamIndex=playing.subtitle_stream)
    found = {"Id": session_id, "UserId": ids.of_user(user_id), "UserName": user_name, "Client": device.client,
             "DeviceName": device.name, "DeviceId": device.id, "ApplicationVersion": device.version,
             "LastActivityDate": last_active, "LastPlaybackCheckIn": last_active, "RemoteEndPoint": address,
             "ServerId": server_id, "IsActive": True,
             "PlayState": state, "PlayableMediaTypes": ["Video"], "SupportedCommands": [], "AdditionalUsers": [],
             "SupportsMediaControl": False, "SupportsRemoteControl": False, "HasCustomDeviceName": False,
             "NowPlayingQueue": [], "NowPlayingQueueFullItems": [],
             "Capabilities": {"PlayableMediaTypes": ["Video"], "SupportedCommands": [],
                              "SupportsMediaControl": False, "SupportsPersistentIdentifier": False}}
    if now_playing_item is not None:
        found["NowPlayingItem"] = now_playing_item
    return found


def play_state(body, stopped):
    """The NowPlaying a progress report describes, or None once playback stopped."""
    if stopped or not body.get("itemid"):
        return None
    return NowPlaying(str(body["itemid"]).replace("-", "").lower(), params.number(body.get("positionticks")) or 0,
                      body.get("ispaused") is True, str(body.get("playmethod") or "DirectPlay"),
                      params.number(body.get("audiostreamindex")), params.number(body.get("subtitlestreamindex")))


def add(app, ctx):
    """Add these routes to ``app``."""
    route, who, live = ctx.route, ctx.who, ctx.live

    @route("/sessions")
    def sessions():
        identity = who()
        if params.query("controllablebyuserid"):
            return params.as_json([])  # nothing Haema serves takes remote commands
        if identity.session_id is None:  # accounts off: the household, as this request's app
            rows = [accounts.SessionInfo(HOUSEHOLD, identity.name, None, now(), "", "")]
        else:
            rows = [s for s in accounts.list_sessions() if identity.admin or s.user == identity.name]
        names = {u.name: u.id for u in User.select(User.id, User.name)} if identity.admin else {}
        names[identity.name] = identity.user_id
        snap = None
        found = []
        for row in rows:
            device = live.devices.get(row.id, Device())
            wanted = params.query("deviceid")
            if wanted and device.id != wanted:
                continue
            playing = live.playing.get(row.id)
            item = None
            if playing is not None:
                snap = snap or ctx.snapshot(identity)
                item = snap.get(ids.parse(playing.item_id))
            found.append(session_dto(row.id, names.get(row.user, 0), row.user, row.used_at, row.address, device,
                                     playing, item, ctx.server_id))
        return params.as_json(found)

    @route("/sessions/capabilities", method="POST")
    @route("/sessions/capabilities/full", method="POST")
    @route("/sessions/playing/ping", method="POST")
    def capabilities():
        who()
        return params.no_content()

    @route("/sessions/logout", method="POST")
    def logout():
        identity = who()
        if identity.session_id:
            accounts.close_session(identity.session_id)
        live.report(identity.session_id or HOUSEHOLD, None)
        return params.no_content()

    def report(identity, body, stopped):
        """A report of where playback is: Haema's history keeps the position (PositionTicks,
        10^7 a second), so Haema's own player resumes there, and any other app."""
        live.report(identity.session_id or HOUSEHOLD, play_state(body, stopped))
        if body.get("itemid") and "positionticks" in body:
            video = catalog.get_video(ids.parse(str(body["itemid"])).id)
            seconds = items.played_position(body["positionticks"], video.duration)
            if seconds > 0 or stopped:
                history.save_progress(identity.user_id, video.id, {"position": seconds})
        return params.no_content()

    @route("/sessions/playing", method="POST")
    @route("/sessions/playing/progress", method="POST")
    @route("/sessions/playing/stopped", method="POST")
    def playing():
        return report(who(), params.body(), bottle.request.path.endswith("/stopped"))

    @route("/playingitems/<item_id>", method=["POST", "DELETE"])
    @route("/playingitems/<item_id>/progress", method="POST")
    @route("/users/<user_id>/playingitems/<item_id>", method=["POST", "DELETE"])
    @route("/users/<user_id>/playingitems/<item_id>/progress", method="POST")
    def playing_item(item_id, user_id=None):
        """The older form of the same reports (Infuse and other Emby-era clients): the item in
        the path, the position and state in the query; DELETE is the stop."""
        body = {"itemid": item_id, **{key: params.query(key) for key in (
            "positionticks", "ispaused", "playmethod", "audiostreamindex", "subtitlestreamindex")
            if params.query(key) is not None}}
        body["ispaused"] = str(body.get("ispaused")).lower() == "true"
        return report(who(), body, bottle.request.method == "DELETE")


def now():
    """The time as Jellyfin writes it in a SessionInfo."""
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None).isoformat(timespec="seconds") + "Z"
