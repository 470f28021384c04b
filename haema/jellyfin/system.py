"""Jellyfin routes: the server, sign-in, users, display preferences, and the empty answers
for what Haema has nothing of (so clients carry on)."""
import datetime
import ipaddress

import bottle

from .. import accounts, preferences
from ..errors import HaemaError
from ..gate import client
from ..models import DisplayPreference
from . import ids, items, params, sessions

EMPTY = {"Items": [], "TotalRecordCount": 0, "StartIndex": 0}
LONGEST_PREFERENCES = 64 << 10  # bytes: jellyfin-web's are a few KB


def endpoint_info(address):
    """EndpointInfo of a client at ``address``: local on this machine, in the network on a private one."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return {"IsLocal": False, "IsInNetwork": False}
    if getattr(ip, "ipv4_mapped", None):
        ip = ip.ipv4_mapped
    return {"IsLocal": ip.is_loopback, "IsInNetwork": ip.is_loopback or ip.is_private or ip.is_link_local}


def own(identity, user_guid):
    """``identity``, if ``user_guid`` (absent: the caller) is its own: a user changes nobody else's settings."""
    if user_guid and user_guid.replace("-", "").lower() != ids.of_user(identity.user_id):
        raise HaemaError("only your own configuration can be changed here", 403)
    return identity


def default_preferences(pref_id, client_name):
    """DisplayPreferencesDto of a user who saved none."""
    return {"Id": pref_id, "CustomPrefs": {}, "SortBy": "SortName", "SortOrder": "Ascending",
            "RememberIndexing": False, "RememberSorting": False, "ScrollDirection": "Horizontal",
            "ShowBackdrop": True, "ShowSidebar": False, "Client": client_name, "PrimaryImageHeight": 250,
            "PrimaryImageWidth": 250, "IndexBy": None, "ViewType": None}


def add(app, ctx):
    """Add these routes to ``app``."""
    route, who, config = ctx.route, ctx.who, ctx.config
    server_id, sign_ins = ctx.server_id, ctx.sign_ins

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
                    InternalMetadataPath="", CachePath="", ProgramDataPath="", ItemsByNamePath="",
                    CastReceiverApplications=[], CompletedInstallations=[])  # jellyfin-web's settings iterate them

    @route("/system/ping", method=["GET", "POST"])
    def ping():
        return params.as_json("Jellyfin Server")

    @route("/system/endpoint")
    def endpoint():
        """A client in the network skips its bitrate test and streams at up to 140 Mb/s (jellyfin-web);
        one outside times ``Playback/BitrateTest`` first. By the socket's address, as gate.client."""
        who()
        return endpoint_info(client()[0])

    @route("/users/public")
    def public_users():
        return params.as_json([])  # the sign-in form asks for a name: no list of accounts for strangers

    @route("/quickconnect/enabled")
    def quick_connect():
        return params.as_json(False)

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
        body = params.body()
        name, password = body.get("username"), body.get("pw", body.get("password"))
        if config.auth:
            session = accounts.sign_in(sign_ins, name, password, *client())
            identity, token = session.identity, session.token
        else:
            identity, token = accounts.HOUSEHOLD_IDENTITY, "household"
        session_id = identity.session_id or sessions.HOUSEHOLD
        ctx.live.seen(session_id, params.auth_fields())
        return {"User": user_dto(identity), "AccessToken": token, "ServerId": server_id,
                "SessionInfo": sessions.session_dto(session_id, identity.user_id, identity.name, sessions.now(),
                                                    client()[0], ctx.live.devices.get(session_id, sessions.Device()),
                                                    None, None, server_id)}

    @route("/users/me")
    @route("/users/<user_id>")
    def user(user_id=None):
        return user_dto(who())

    @route("/users")
    def users():
        return params.as_json([user_dto(who())])

    @route("/users/configuration", method="POST")  # 10.9 and later: ?userId=
    @route("/users/<user_id>/configuration", method="POST")
    def user_configuration(user_id=None):
        """Its audio and subtitle choices are Haema's playback preferences, which the web player shares."""
        identity = own(who(), user_id or params.query("userid"))
        changes = items.configured_preferences(params.body(), preferences.get_preferences(identity.user_id))
        preferences.save(identity.user_id, **changes)
        return params.no_content()

    def user_dto(identity):
        return items.user_dto(identity, server_id, preferences.get_preferences(identity.user_id))

    @route("/displaypreferences/<pref_id>")
    def display_preferences(pref_id):
        identity = who()
        client_name = params.query("client") or "emby"
        row = DisplayPreference.get_or_none(DisplayPreference.user_id == identity.user_id,
                                            DisplayPreference.key == pref_id, DisplayPreference.client == client_name)
        return row.value if row is not None else default_preferences(pref_id, client_name)

    @route("/displaypreferences/<pref_id>", method="POST")
    def save_display_preferences(pref_id):
        """Kept in the database, as the app sent it (jellyfin-web keeps its settings and home
        screen in ``CustomPrefs``)."""
        identity = who()
        if len(bottle.request.body.read(LONGEST_PREFERENCES + 1)) > LONGEST_PREFERENCES:
            raise HaemaError("display preferences of more than 64 KB", 413)
        body = params.raw_body()
        if not isinstance(body, dict):
            raise HaemaError("send the display preferences as a JSON object")
        client_name = params.query("client") or "emby"
        value = dict(body, Id=pref_id, Client=client_name)
        (DisplayPreference.insert(user_id=identity.user_id, key=pref_id, client=client_name, value=value)
         .on_conflict(conflict_target=[DisplayPreference.user_id, DisplayPreference.key, DisplayPreference.client],
                      update={DisplayPreference.value: value, DisplayPreference.updated_at: datetime.datetime.utcnow()})
         .execute())
        return params.no_content()

    @route("/localization/cultures")
    def cultures():
        """The languages a user may prefer (their UserConfiguration, above)."""
        who()
        return params.as_json(items.cultures())

    # -- What Haema has nothing for: empty answers, so clients carry on ------------

    @route("/shows/upcoming")
    @route("/items/suggestions")
    @route("/livetv/programs")
    @route("/livetv/programs/recommended")
    @route("/livetv/channels")
    @route("/items/<item_id>/similar")
    @route("/users/<user_id>/items/<item_id>/intros")
    @route("/items/<item_id>/intros")
    @route("/persons")
    @route("/artists")
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
    @route("/users/<user_id>/groupingoptions")
    @route("/userviews/groupingoptions")
    @route("/localization/countries")
    def nothing_list(**_):
        who()
        return params.as_json([])

    @route("/items/<item_id>/thememedia")
    def theme_media(item_id):
        who()
        owner = item_id.replace("-", "").lower()
        ids.parse(owner)  # 404 for an id that is none of Haema's
        none = dict(EMPTY, OwnerId=owner)
        return {"ThemeVideosResult": none, "ThemeSongsResult": none, "SoundtrackSongsResult": none}


