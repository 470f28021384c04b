"""Jellyfin routes: the server, sign-in, users, preferences, sessions, and the empty answers
for what Haema has nothing of (so clients carry on)."""
import bottle

from .. import accounts
from ..gate import client
from . import ids, items, params

EMPTY = {"Items": [], "TotalRecordCount": 0, "StartIndex": 0}


def add(app, ctx):
    """Add these routes to ``app``."""
    route, who, config = ctx.route, ctx.who, ctx.config
    server_id, sign_ins = ctx.server_id, ctx.sign_ins
    preferences = {}  # (user id, id, client) → DisplayPreferencesDto, kept for the life of the process

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
        return params.as_json("Jellyfin Server")

    @route("/system/endpoint")
    def endpoint():
        who()
        return {"IsLocal": True, "IsInNetwork": True}

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
        header = params.auth_fields()
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
        return params.as_json([items.user_dto(who(), server_id)])

    @route("/displaypreferences/<pref_id>")
    def display_preferences(pref_id):
        identity = who()
        client_name = params.query("client") or "emby"
        default = {"Id": pref_id, "CustomPrefs": {}, "SortBy": "SortName", "SortOrder": "Ascending",
                   "RememberIndexing": False, "RememberSorting": False, "ScrollDirection": "Horizontal",
                   "ShowBackdrop": True, "ShowSidebar": False, "Client": client_name, "PrimaryImageHeight": 250,
                   "PrimaryImageWidth": 250, "IndexBy": None, "ViewType": None}
        return preferences.get((identity.user_id, pref_id, client_name), default)

    @route("/displaypreferences/<pref_id>", method="POST")
    def save_display_preferences(pref_id):
        identity = who()
        body = params.raw_body()
        if isinstance(body, dict):
            preferences[identity.user_id, pref_id, params.query("client") or "emby"] = dict(body, Id=pref_id)
        return params.no_content()

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
        return params.as_json([])

    @route("/items/<item_id>/thememedia")
    def theme_media(item_id):
        who()
        return {"ThemeVideosResult": EMPTY, "ThemeSongsResult": EMPTY, "SoundtrackSongsResult": EMPTY}

    @route("/items/filters")
    def filters():
        who()
        return {"Genres": [], "Tags": [], "OfficialRatings": [], "Years": []}

