"""Jellyfin sessions (haema/jellyfin/sessions.py): Haema's own sessions with the app each one
names and what it reports playing, seen by its user and by admins, and the reports' pure parts."""
import pytest

from haema import accounts, models
from haema.jellyfin import sessions

from .test_jellyfin_api import HEADER, PASSWORD, find, sign_in

# another device; the id is changed before the token goes in, as a token may hold "d1"
TV_HEADER = HEADER.replace('DeviceId="d1"', 'DeviceId="tv-2"')


@pytest.fixture(autouse=True)
def cheap_passwords(monkeypatch):
    monkeypatch.setattr(accounts, "SCRYPT", {"n": 2 ** 4, "r": 8, "p": 1})


def test_play_state_reads_a_report_and_a_stop_ends_it():
    state = sessions.play_state({"itemid": "AB-CD", "positionticks": 50, "ispaused": True, "playmethod": "Transcode",
                                 "audiostreamindex": 2, "subtitlestreamindex": "-1"}, False)
    assert state == sessions.NowPlaying("abcd", 50, True, "Transcode", 2, -1)
    assert sessions.play_state({"itemid": "abcd", "positionticks": 50}, True) is None
    assert sessions.play_state({}, False) is None
    live = sessions.Live()
    live.seen("s1", {})  # no header: nothing learnt
    assert live.devices == {}
    live.seen("s1", {"client": "Jellyfin Web", "device": "Chrome", "deviceid": "d1", "version": "10.10.7"})
    assert live.devices["s1"] == sessions.Device("Jellyfin Web", "Chrome", "d1", "10.10.7")


def test_sessions_list_devices_and_what_they_play(make_app, library_root):
    site = make_app(library_root, auth=True)
    with models.database.connection_context():
        accounts.add_user("ada", PASSWORD, admin=True)
        accounts.add_user("bob", PASSWORD)
    ada, ada_id, _ = sign_in(site)
    answer = site.post_json("/Users/AuthenticateByName", {"Username": "bob", "Pw": PASSWORD},
                            headers={"Authorization": TV_HEADER.format("")}).json
    bob = {"Authorization": TV_HEADER.format(answer["AccessToken"])}
    heat = find(site, ada, "Heat", "Movie")
    site.post_json("/Sessions/Playing", {"ItemId": heat["Id"], "PositionTicks": 0, "PlayMethod": "DirectPlay"},
                   headers=bob, status=204)
    site.post_json("/Sessions/Playing/Progress", {"ItemId": heat["Id"], "PositionTicks": 5_000_000, "IsPaused": True,
                                                  "PlayMethod": "DirectPlay"}, headers=bob, status=204)
    mine = site.get("/Sessions", headers=bob).json
    assert [(s["UserName"], s["DeviceId"], s["Client"]) for s in mine] == [("bob", "tv-2", "Jellyfin Web")]
    assert mine[0]["NowPlayingItem"]["Name"] == "Heat" and mine[0]["PlayState"]["PositionTicks"] == 5_000_000
    assert mine[0]["PlayState"]["IsPaused"] is True and mine[0]["UserId"] == answer["User"]["Id"]
    everyone = site.get("/Sessions", headers=ada).json  # an admin sees every session
    assert {s["UserName"] for s in everyone} == {"ada", "bob"}
    assert next(s for s in everyone if s["UserName"] == "ada")["UserId"] == ada_id
    assert [s["UserName"] for s in site.get("/Sessions?DeviceId=tv-2", headers=ada).json] == ["bob"]
    assert site.get(f"/Sessions?ControllableByUserId={ada_id}", headers=ada).json == []  # no remote control
    site.post_json("/Sessions/Playing/Stopped", {"ItemId": heat["Id"], "PositionTicks": 6_000_000}, headers=bob,
                   status=204)
    assert "NowPlayingItem" not in site.get("/Sessions", headers=bob).json[0]
    site.post("/Sessions/Logout", headers=bob, status=204)
    assert [s["UserName"] for s in site.get("/Sessions", headers=ada).json] == ["ada"]


def test_with_accounts_off_the_household_is_the_one_session(app):
    headers = {"Authorization": HEADER.format("")}
    heat = app.get("/Items?Recursive=true&IncludeItemTypes=Movie&SearchTerm=Heat", headers=headers).json["Items"][0]
    app.post_json("/Sessions/Playing/Progress", {"ItemId": heat["Id"], "PositionTicks": 10_000_000}, headers=headers)
    found = app.get("/Sessions", headers=headers).json
    assert [(s["Id"], s["DeviceId"]) for s in found] == [("household", "d1")]
    assert found[0]["NowPlayingItem"]["Id"] == heat["Id"]


def test_the_older_playing_items_reports(app):
    """Infuse and other Emby-era clients report with the item in the path and the rest in the query."""
    heat = app.get("/Items?Recursive=true&IncludeItemTypes=Movie&SearchTerm=Heat").json["Items"][0]
    app.post(f"/Users/x/PlayingItems/{heat['Id']}?PositionTicks=0&PlayMethod=DirectPlay", status=204)
    app.post(f"/PlayingItems/{heat['Id']}/Progress?PositionTicks=12000000&IsPaused=true", status=204)
    playing = app.get("/Sessions").json[0]
    assert playing["NowPlayingItem"]["Id"] == heat["Id"] and playing["PlayState"]["IsPaused"] is True
    assert app.get(f"/Items/{heat['Id']}").json["UserData"]["PlaybackPositionTicks"] == 12_000_000
    app.delete(f"/Users/x/PlayingItems/{heat['Id']}?PositionTicks=15000000", status=204)
    assert "NowPlayingItem" not in app.get("/Sessions").json[0]
    assert app.get(f"/Items/{heat['Id']}").json["UserData"]["PlaybackPositionTicks"] == 15_000_000
