"""A second Jellyfin client, jellyfin-apiclient-python (the library Jellyfin's Kodi add-on and
others are built on), driving a real running Haema: connect, sign in, views, browse, search,
PlaybackInfo, the master playlist and a segment through TranscodingUrl, progress that Haema's
own history shows, next up."""
import queue
import re
import time
import urllib.parse

import pytest
import requests
from jellyfin_apiclient_python import JellyfinClient
from jellyfin_apiclient_python.connection_manager import CONNECTION_STATE

from harness.server import server_with_admin
from .test_jellyfin_api import CHROME_PROFILE

ADA = ("ada", "ada's long secret")


@pytest.fixture
def server(library_template, tmp_path):
    with server_with_admin(library_template, tmp_path, ADA) as running:
        yield running


def connect(server):
    client = JellyfinClient()
    client.config.app("haema-pytest", "1.0", "pytest", "pytest-device-1")
    client.config.data["auth.ssl"] = False
    state = client.auth.connect_to_address(server.url)
    assert state["State"] == CONNECTION_STATE.ServerSignIn, state  # found, not signed in yet
    assert client.auth.login(server.url, *ADA)["AccessToken"]
    return client


def test_jellyfin_apiclient_python_full_flow(server):
    client = connect(server)
    api = client.jellyfin

    # its WebSocket: connected, and the server's ForceKeepAlive started its keep-alive thread
    events = queue.Queue()
    client.callback = lambda name, data: events.put(name)
    client.start_wsc()
    try:
        assert events.get(timeout=60) == "WebSocketConnect"
        waited = time.monotonic()  # ForceKeepAlive makes no callback: its thread is what shows it came
        while client.wsc.keepalive is None and time.monotonic() < waited + 60:
            time.sleep(0.05)
        assert client.wsc.keepalive.timeout == 60
    finally:
        client.wsc.stop_client()
    views = api.get_views()["Items"]
    assert {v["CollectionType"] for v in views} == {"movies", "tvshows"}
    movies_view = next(v for v in views if v["CollectionType"] == "movies")
    movies = api.user_items(params={"ParentId": movies_view["Id"], "IncludeItemTypes": "Movie", "Recursive": True,
                                    "SortBy": "SortName"})["Items"]
    assert [m["Name"] for m in movies] == ["Amélie", "Heat", "Rock 'n' $(Roll); & Friends #1"]
    found = api.search_media_items(term="amelie", media="Movie")["Items"]
    assert [m["Name"] for m in found] == ["Amélie"]
    amelie = api.get_item(found[0]["Id"])
    assert [s["Type"] for s in amelie["MediaStreams"]] == ["Video", "Audio", "Subtitle"]

    # PlaybackInfo: the AC-3 Matroska goes to HLS; master and a segment without any header
    info = api.get_play_info(amelie["Id"], profile=CHROME_PROFILE)
    source = info["MediaSources"][0]
    assert not source["SupportsDirectPlay"] and source["TranscodingSubProtocol"] == "hls"
    master_url = server.url + source["TranscodingUrl"]
    master = requests.get(master_url, timeout=60)
    assert master.status_code == 200 and master.text.startswith("#EXTM3U")
    variant = next(line for line in master.text.splitlines() if line and not line.startswith("#"))
    media_url = urllib.parse.urljoin(master_url, variant)
    media = requests.get(media_url, timeout=60).text
    segment = next(line for line in media.splitlines() if line and not line.startswith("#"))
    body = requests.get(urllib.parse.urljoin(media_url, segment), timeout=120)
    assert body.status_code == 200 and len(body.content) > 1000
    assert re.search(r"PlaySessionId=" + info["PlaySessionId"], source["TranscodingUrl"])

    # progress: seen in Haema's own history and as the item's UserData
    api.session_playing({"ItemId": amelie["Id"], "PositionTicks": 0, "PlaySessionId": info["PlaySessionId"]})
    api.session_progress({"ItemId": amelie["Id"], "PositionTicks": 4_000_000, "EventName": "timeupdate"})
    api.session_stop({"ItemId": amelie["Id"], "PositionTicks": 6_000_000})
    status, history = server.api("/api/v1/history")
    assert status == 200 and history[0]["show"]["title"] == "Amélie" and history[0]["position"] == 0.6
    assert api.get_item(amelie["Id"])["UserData"]["PlaybackPositionTicks"] == 6_000_000

    # next up: a finished pilot offers episode 2
    shows_view = next(v for v in views if v["CollectionType"] == "tvshows")
    series = api.user_items(params={"ParentId": shows_view["Id"], "IncludeItemTypes": "Series",
                                    "Recursive": True, "SearchTerm": "Breaking"})["Items"][0]
    seasons = api.get_seasons(series["Id"])["Items"]
    first = next(s for s in seasons if s["IndexNumber"] == 1)
    episodes = api.get_season(series["Id"], first["Id"])["Items"]
    api.session_stop({"ItemId": episodes[0]["Id"], "PositionTicks": 10 ** 9})  # past the end: finished
    up = api.get_next(limit=5)["Items"]
    assert [(e["SeriesName"], e["ParentIndexNumber"], e["IndexNumber"]) for e in up] == [("Breaking Bad", 1, 2)]
