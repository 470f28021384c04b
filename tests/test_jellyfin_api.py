"""The Jellyfin API (haema/jellyfin) through the real app: sign-in, browsing, PlaybackInfo,
direct streams, subtitles, progress. Real clips, real SQLite, real scrypt at a test's cost;
the PlaybackInfo decision is also tested as the pure function it is."""
import collections
import itertools
import logging
import re
import urllib.parse

import pytest

from haema import accounts, models
from haema.jellyfin import decide, ids

PASSWORD = "ada's long secret"
HEADER = 'MediaBrowser Client="Jellyfin%20Web", Device="pytest", DeviceId="d1", Version="10.10.7", Token="{}"'
CHROME_PROFILE = {
    "DirectPlayProfiles": [
        {"Container": "webm", "Type": "Video", "VideoCodec": "vp8,vp9,av1", "AudioCodec": "vorbis,opus"},
        {"Container": "mp4,m4v", "Type": "Video", "VideoCodec": "h264,vp9,av1", "AudioCodec": "aac,mp3,opus,flac"},
        {"Container": "mkv", "Type": "Video", "VideoCodec": "h264,vp9,av1", "AudioCodec": "aac,mp3,opus,flac"}],
    "TranscodingProfiles": [{"Container": "ts", "Type": "Video", "Protocol": "hls", "VideoCodec": "h264",
                             "AudioCodec": "aac,mp3,mp2"}],
}


@pytest.fixture(autouse=True)
def cheap_passwords(monkeypatch):
    monkeypatch.setattr(accounts, "SCRYPT", {"n": 2 ** 4, "r": 8, "p": 1})


@pytest.fixture
def site(make_app, library_root):
    app = make_app(library_root, auth=True)
    with models.database.connection_context():
        accounts.add_user("ada", PASSWORD, admin=True)
    return app


def sign_in(site):
    """``(headers, user id, token)`` as jellyfin-web signs in (odd case on purpose)."""
    answer = site.post_json("/Users/authenticatebyname", {"Username": "ada", "Pw": PASSWORD},
                            headers={"Authorization": HEADER.format("")})
    token = answer.json["AccessToken"]
    return {"Authorization": HEADER.format(token)}, answer.json["User"]["Id"], token


def find(site, headers, name, kind):
    found = site.get(f"/Items?Recursive=true&IncludeItemTypes={kind}&SearchTerm={urllib.parse.quote(name)}",
                     headers=headers).json
    assert found["TotalRecordCount"] == 1, found
    return found["Items"][0]


# -- pure ------------------------------------------------------------------------


def facts(container="mp4", video="h264", audio=("aac",), default=0, copyable=True):
    return decide.MediaFacts(container, video, audio, default, copyable)


def test_decision_direct_play_when_the_profile_decodes_container_and_codecs():
    assert decide.decide(facts(), CHROME_PROFILE).method == "DirectPlay"
    assert decide.decide(facts(container="mkv", audio=("opus",)), CHROME_PROFILE).method == "DirectPlay"


def test_decision_hls_copy_when_only_the_audio_does_not_fit():
    decision = decide.decide(facts(container="mkv", audio=("ac3",)), CHROME_PROFILE)
    assert decision.method == "HLS copy" and "ac3" in decision.reason


def test_decision_transcodes_what_hls_cannot_copy():
    assert decide.decide(facts(container="mkv", video="hevc", copyable=False), CHROME_PROFILE).method == \
        "HLS transcode"
    assert decide.decide(facts(video="hevc"), CHROME_PROFILE).method == "HLS transcode"  # no hevc over HLS


def test_decision_another_audio_track_leaves_direct_play():
    two = facts(audio=("aac", "aac"))
    assert decide.decide(two, CHROME_PROFILE, 0).method == "DirectPlay"
    assert decide.decide(two, CHROME_PROFILE, 1).method == "HLS copy"


def test_decision_follows_the_requests_switches():
    assert decide.decide(facts(), CHROME_PROFILE, direct=False).method == "HLS copy"
    assert decide.decide(facts(), CHROME_PROFILE, direct=False, copy=False).method == "HLS transcode"
    assert decide.decide(facts(), CHROME_PROFILE, copy=False).method == "DirectPlay"


def test_decision_keeps_under_the_clients_bitrate():
    heavy = decide.MediaFacts("mp4", "h264", ("aac",), 0, True, bitrate=20_000_000)
    assert decide.decide(heavy, CHROME_PROFILE).method == "DirectPlay"
    assert decide.decide(heavy, CHROME_PROFILE, max_bitrate="140000000").method == "DirectPlay"
    low = decide.decide(heavy, CHROME_PROFILE, max_bitrate=1_500_000)
    assert low.method == "HLS transcode" and "over the client's 1500 kb/s" in low.reason
    assert decide.decide(heavy, dict(CHROME_PROFILE, MaxStreamingBitrate=8_000_000)).method == "HLS transcode"
    assert decide.decide(heavy, CHROME_PROFILE, max_bitrate="nonsense").method == "DirectPlay"


def test_endpoint_says_whether_a_client_is_in_the_network():
    from haema.jellyfin.system import endpoint_info
    assert endpoint_info("127.0.0.1") == {"IsLocal": True, "IsInNetwork": True}
    assert endpoint_info("::ffff:192.168.1.20") == {"IsLocal": False, "IsInNetwork": True}
    assert endpoint_info("fe80::1%eth0")["IsInNetwork"] and not endpoint_info("8.8.8.8")["IsInNetwork"]
    assert endpoint_info("") == {"IsLocal": False, "IsInNetwork": False}


def test_decision_without_a_profile_is_a_plain_browser_and_camel_case_is_read():
    assert decide.decide(facts(), None).method == "DirectPlay"
    camel = {"directPlayProfiles": [{"container": "mp4", "type": "Video", "videoCodec": "h264", "audioCodec": "aac"}]}
    assert decide.decide(facts(), camel).method == "DirectPlay"
    assert decide.container_name("matroska,webm") == "mkv"


def test_transcoding_url_is_haemas_master_unless_the_client_needs_it_changed():
    from haema.jellyfin.playing import transcoding_url
    plain = transcoding_url("0123456789abcdef", "s1", "u=1&exp=2&sig=x", None, None)
    assert plain == "/api/v1/video/0123456789abcdef/master.m3u8?PlaySessionId=s1&u=1&exp=2&sig=x"
    changed = transcoding_url("0123456789abcdef", "s1", "", 1, 8_000_000)
    assert changed == (f"/videos/{ids.of_item('0123456789abcdef')}/master.m3u8?PlaySessionId=s1&AudioPosition=1"
                       "&MaxStreamingBitrate=8000000")


def test_cues_as_subrip_and_track_events():
    from haema.jellyfin import cues
    found = cues.of_webvtt("WEBVTT\n\nNOTE x\n\n1\n00:00.500 --> 00:02.000 align:start\n<i>Bonjour</i>\nà tous\n\n"
                           "01:02:03.004 --> 01:02:04.000\nFin\n\nbad --> times\nx\n")
    assert found == [cues.Cue(0.5, 2.0, ("<i>Bonjour</i>", "à tous")), cues.Cue(3723.004, 3724.0, ("Fin",))]
    assert cues.as_srt(found) == ("1\n00:00:00,500 --> 00:00:02,000\n<i>Bonjour</i>\nà tous\n\n"
                                  "2\n01:02:03,004 --> 01:02:04,000\nFin\n\n")
    assert cues.track_events(found)["TrackEvents"][0] == {"Id": "1", "StartPositionTicks": 5_000_000,
                                                          "EndPositionTicks": 20_000_000,
                                                          "Text": "<i>Bonjour</i>\\Nà tous"}
    assert decide.subtitle_format({"SubtitleProfiles": [{"Format": "vtt", "Method": "External"}]}) == "vtt"
    assert decide.subtitle_format({"subtitleProfiles": [{"format": "subrip", "method": "External"}]}) == "srt"
    assert decide.subtitle_format(None) == "vtt"


def test_ids_round_trip_and_accept_dashes():
    guid = ids.of_item("0123456789abcdef")
    dashed = f"{guid[:8]}-{guid[8:12]}-{guid[12:16]}-{guid[16:20]}-{guid[20:]}".upper()
    assert ids.parse(dashed) == ids.Ref("item", "0123456789abcdef")
    assert ids.parse(ids.of_season("0123456789abcdef", 2)) == ids.Ref("season", "0123456789abcdef", 2)
    assert ids.parse(ids.MOVIES_VIEW).kind == "view"
    assert ids.of_genre("Comédie") == ids.of_genre(" COMEDIE") != ids.of_genre("Drama")
    assert ids.parse(ids.of_genre("Drama")) == ids.Ref("genre", ids.of_genre("Drama")[:16])


def test_path_template_names_ids():
    from haema.jellyfin.routes import path_template
    assert path_template(f"/items/{ids.of_item('0123456789abcdef')}/instantmix") == "/items/{id}/instantmix"
    assert path_template("/users/3f2504e0-4f89-11d3-9a0c-0305e82c3301/items/12") == "/users/{id}/items/{id}"
    assert path_template("/livetv/channels") == "/livetv/channels"


def test_routed_path_ignores_case_and_a_base_path():
    from haema.jellyfin.routes import routed_path
    assert routed_path("/System/Info/Public") == "/system/info/public"
    assert routed_path("/jellyfin/System/Info/Public") == "/system/info/public"
    assert routed_path("/jellyfin/api/v1/video/0123456789abcdef/master.m3u8") == \
        "/api/v1/video/0123456789abcdef/master.m3u8"
    assert routed_path("/Jellyfin/web/index.html") == "/web/index.html"
    for own in ("/", "/api/v1/library", "/static/js/app.js", "/web/items/x", "/favicon.ico", "/a/b/c"):
        assert routed_path(own) is None, own


# -- system and sign-in ------------------------------------------------------------


def test_public_info_and_sign_in(site):
    public = site.get("/system/info/public").json
    assert public["StartupWizardCompleted"] is True and tuple(map(int, public["Version"].split("."))) >= (10, 8)
    assert site.get("/System/Info/Public").json == public
    assert site.get("/Users/Public").json == []
    assert site.get("/QuickConnect/Enabled").json is False
    assert site.get("/Branding/Configuration").json["LoginDisclaimer"] == ""
    headers, user_id, token = sign_in(site)
    me = site.get(f"/Users/{user_id}", headers=headers).json
    assert me["Id"] == user_id and me["ServerId"] == public["Id"] and me["Policy"]["EnableMediaPlayback"]
    assert me["Configuration"]["RememberAudioSelections"] is True
    for how in ({"X-Emby-Token": token}, {"X-MediaBrowser-Token": token},
                {"X-Emby-Authorization": headers["Authorization"]}):
        assert site.get("/Users/Me", headers=how).json["Name"] == "ada"
    info = site.get(f"/System/Info?api_key={token}").json
    assert info["Id"] == public["Id"] and info["CastReceiverApplications"] == []
    site.get("/Users/Me", status=401)
    assert site.get("/jellyfin/Users/Me", headers=headers).json["Name"] == "ada"  # a base path is ignored
    site.get("/Users/Me", headers={"Authorization": HEADER.format("wrong")}, status=401)
    site.post_json("/Users/AuthenticateByName", {"Username": "ada", "Pw": "nope"}, status=401)


def test_sign_in_has_haemas_brakes_on_guessing(site):
    for _ in range(5):
        site.post_json("/Users/AuthenticateByName", {"Username": "ada", "Pw": "guess"}, status=401)
    refused = site.post_json("/Users/AuthenticateByName", {"Username": "ada", "Pw": PASSWORD}, status=429)
    assert "too many failed sign-ins" in refused.json["error"]
    site.post_json("/Users/AuthenticateByName", {"Username": "ada"}, status=400)  # no password at all


def test_preferences_capabilities_and_logout(site, make_app, library_root):
    headers, user_id, _ = sign_in(site)
    prefs = site.get(f"/DisplayPreferences/usersettings?userId={user_id}&client=emby", headers=headers).json
    assert prefs["Id"] == "usersettings" and prefs["CustomPrefs"] == {}
    site.post_json("/DisplayPreferences/usersettings?client=emby", dict(prefs, CustomPrefs={"a": "1"}),
                   headers=headers, status=204)
    site.post_json("/DisplayPreferences/usersettings?client=emby", dict(prefs, CustomPrefs={"a": "2", "é": "ü"}),
                   headers=headers, status=204)
    assert site.get("/DisplayPreferences/usersettings?client=emby", headers=headers).json["CustomPrefs"] == {
        "a": "2", "é": "ü"}
    assert site.get("/DisplayPreferences/usersettings?client=other", headers=headers).json["CustomPrefs"] == {}
    # kept in the database: another app over it (a restart, another node) has them
    again = make_app(library_root, auth=True, scan=False)
    assert again.get("/DisplayPreferences/usersettings?client=emby", headers=headers).json["CustomPrefs"]["a"] == "2"
    site.post("/DisplayPreferences/usersettings", b"[1]", headers=headers, status=400)
    site.post("/DisplayPreferences/usersettings", b"{" + b" " * 70000 + b"}", headers=headers, status=413)
    site.post_json("/Sessions/Capabilities/Full", {"PlayableMediaTypes": ["Video"]}, headers=headers, status=204)
    test = site.get("/Playback/BitrateTest?Size=200000", headers=headers)
    assert len(test.body) == 200_000 and test.content_type == "application/octet-stream"
    assert len(set(test.body[:65536])) > 200  # random: nothing to compress on the way
    site.get("/Playback/BitrateTest?Size=0", headers=headers, status=400)
    site.get("/Playback/BitrateTest?Size=100000001", headers=headers, status=400)
    assert site.get("/System/Endpoint", headers=headers, extra_environ={"REMOTE_ADDR": "192.168.1.5"}).json == {
        "IsLocal": False, "IsInNetwork": True}
    site.post("/Sessions/Logout", headers=headers, status=204)
    site.get("/Users/Me", headers=headers, status=401)


# -- browsing --------------------------------------------------------------------


def test_views_items_seasons_episodes(site):
    headers, user_id, _ = sign_in(site)
    views = site.get(f"/UserViews?userId={user_id}", headers=headers).json["Items"]
    assert [(v["Name"], v["CollectionType"]) for v in views] == [("Movies", "movies"), ("Shows", "tvshows")]
    movies = site.get(f"/Users/{user_id}/Items?ParentId={views[0]['Id']}&IncludeItemTypes=Movie&Recursive=true"
                      "&SortBy=SortName,ProductionYear&SortOrder=Ascending", headers=headers).json
    assert [m["Name"] for m in movies["Items"]] == ["Amélie", "Heat", "Rock 'n' $(Roll); & Friends #1"]
    assert all(m["Type"] == "Movie" and m["MediaType"] == "Video" and m["ServerId"] for m in movies["Items"])
    page = site.get(f"/items?parentId={views[0]['Id']}&includeItemTypes=Movie&startIndex=1&limit=1",
                    headers=headers).json
    assert page["TotalRecordCount"] == 3 and [m["Name"] for m in page["Items"]] == ["Heat"]
    shows = site.get(f"/Items?ParentId={views[1]['Id']}&IncludeItemTypes=Series&Recursive=true",
                     headers=headers).json["Items"]
    bad = next(s for s in shows if s["Name"] == "Breaking Bad")
    seasons = site.get(f"/Shows/{bad['Id']}/Seasons?userId={user_id}", headers=headers).json["Items"]
    assert [s["IndexNumber"] for s in seasons] == [0, 1, 2]
    episodes = site.get(f"/Shows/{bad['Id']}/Episodes?seasonId={seasons[1]['Id']}", headers=headers).json["Items"]
    assert [(e["ParentIndexNumber"], e["IndexNumber"]) for e in episodes] == [(1, 1), (1, 2)]
    assert episodes[0]["SeriesId"] == bad["Id"] and episodes[0]["SeasonId"] == seasons[1]["Id"]
    assert site.get(f"/Items/{seasons[1]['Id']}", headers=headers).json["Type"] == "Season"
    # search: accent-blind; unknown types are empty, not errors
    assert find(site, headers, "amelie", "Movie")["Name"] == "Amélie"
    assert find(site, headers, "Amélie", "Movie")["Name"] == "Amélie"
    assert site.get("/Items?Recursive=true&IncludeItemTypes=Playlist&SearchTerm=a", headers=headers).json[
        "TotalRecordCount"] == 0
    assert site.get("/Persons?searchTerm=a", headers=headers).json["Items"] == []
    assert site.get("/Shows/Upcoming", headers=headers).json["Items"] == []  # the TV Upcoming tab
    assert site.get(f"/Users/{user_id}/GroupingOptions", headers=headers).json == []  # display settings


def test_full_item_has_streams_and_images_are_anonymous(site):
    headers, user_id, token = sign_in(site)
    amelie = find(site, headers, "Amélie", "Movie")
    full = site.get(f"/Users/{user_id}/Items/{amelie['Id']}", headers=headers).json
    kinds = [(s["Type"], s["Index"]) for s in full["MediaStreams"]]
    assert kinds == [("Video", 0), ("Audio", 1), ("Subtitle", 2)]
    assert full["MediaSources"][0]["Container"] == "mkv"
    assert amelie["ImageTags"]["Primary"]
    image = site.get(f"/Items/{amelie['Id']}/Images/Primary?maxWidth=300&tag={amelie['ImageTags']['Primary']}")
    assert image.body.startswith(b"\xff\xd8")
    site.get(f"/Items/{amelie['Id']}/Images/Backdrop/0", status=404)


# -- playback --------------------------------------------------------------------


def test_playback_info_direct_play_and_the_stream(site):
    headers, user_id, token = sign_in(site)
    heat = find(site, headers, "Heat", "Movie")
    info = site.post_json(f"/Items/{heat['Id']}/PlaybackInfo",
                          {"UserId": user_id, "DeviceProfile": CHROME_PROFILE, "SubtitleStreamIndex": "-1"},
                          headers=headers).json
    source = info["MediaSources"][0]
    assert source["SupportsDirectPlay"] and source["Container"] == "mp4" and "TranscodingUrl" not in source
    retry = site.post_json(f"/Items/{heat['Id']}/PlaybackInfo?EnableDirectPlay=false",
                           {"DeviceProfile": CHROME_PROFILE, "AllowVideoStreamCopy": False}, headers=headers).json
    assert not retry["MediaSources"][0]["SupportsDirectPlay"] and retry["MediaSources"][0]["TranscodingUrl"]
    whole = site.get(f"/Videos/{heat['Id']}/stream.mp4?Static=true&mediaSourceId={source['Id']}&api_key={token}")
    assert whole.content_type == "video/mp4"
    part = site.get(f"/Videos/{heat['Id']}/stream?static=true&api_key={token}", headers={"Range": "bytes=0-99"},
                    status=206)
    assert part.body == whole.body[:100]
    assert site.get(source["DirectStreamUrl"]).body == whole.body  # no header: the token is in it
    site.get(f"/Videos/{heat['Id']}/stream.mp4?Static=true", status=401)
    download = site.get(f"/Items/{heat['Id']}/Download?api_key={token}")
    assert download.body == whole.body and download.headers["Content-Disposition"] == \
        "attachment; filename*=UTF-8''Heat%20%281995%29.mp4"


def test_playback_info_hls_master_and_subtitles_without_headers(site):
    headers, user_id, token = sign_in(site)
    amelie = find(site, headers, "Amélie", "Movie")
    info = site.post_json(f"/Items/{amelie['Id']}/PlaybackInfo", {"DeviceProfile": CHROME_PROFILE},
                          headers=headers).json
    source = info["MediaSources"][0]
    assert not source["SupportsDirectPlay"] and not source["SupportsDirectStream"]
    assert source["TranscodingSubProtocol"] == "hls" and source["TranscodingUrl"].startswith("/api/v1/video/")
    assert "PlaySessionId=" + info["PlaySessionId"] in source["TranscodingUrl"]
    master = site.get(source["TranscodingUrl"])  # no header, no cookie: the URL is signed
    assert master.text.startswith("#EXTM3U")
    subtitle = next(s for s in source["MediaStreams"] if s["Type"] == "Subtitle")
    assert subtitle["DeliveryMethod"] == "External" and "api_key=" in subtitle["DeliveryUrl"]
    vtt = site.get(subtitle["DeliveryUrl"])
    assert vtt.text.startswith("WEBVTT") and "Bonjour" in vtt.text
    events = site.get(subtitle["DeliveryUrl"].replace(".vtt", ".js")).json["TrackEvents"]
    assert [e["Text"] for e in events] == ["Bonjour"]
    assert events[0]["EndPositionTicks"] > events[0]["StartPositionTicks"]
    # a player that takes SubRip and not WebVTT (its SubtitleProfiles) gets .srt
    srt_only = dict(CHROME_PROFILE, SubtitleProfiles=[{"Format": "srt", "Method": "External"},
                                                      {"Format": "ass", "Method": "Embed"}])
    srt_source = site.post_json(f"/Items/{amelie['Id']}/PlaybackInfo", {"DeviceProfile": srt_only},
                                headers=headers).json["MediaSources"][0]
    srt_url = next(s for s in srt_source["MediaStreams"] if s["Type"] == "Subtitle")["DeliveryUrl"]
    assert "/Stream.srt?api_key=" in srt_url
    srt = site.get(srt_url)
    assert srt.content_type == "application/x-subrip" and srt.text.startswith("1\n00:00:00,500 --> 00:00:01,500\n")


# -- progress --------------------------------------------------------------------


def test_progress_reports_write_haema_history_and_back(site):
    headers, user_id, _ = sign_in(site)
    heat = find(site, headers, "Heat", "Movie")
    site.post_json("/Sessions/Playing", {"ItemId": heat["Id"], "PositionTicks": 0}, headers=headers, status=204)
    site.post_json("/Sessions/Playing/Progress", {"ItemId": heat["Id"], "PositionTicks": 5_000_000,
                                                  "EventName": "timeupdate"}, headers=headers, status=204)
    site.post_json("/Sessions/Playing/Stopped", {"ItemId": heat["Id"], "PositionTicks": 7_000_000},
                   headers=headers, status=204)
    data = site.get(f"/Users/{user_id}/Items/{heat['Id']}", headers=headers).json["UserData"]
    assert data["PlaybackPositionTicks"] == 7_000_000 and not data["Played"]
    history = site.get("/api/v1/history", headers={"Authorization": "Bearer " + headers["Authorization"]
                                                   .split('Token="')[1].rstrip('"')}).json
    assert history[0]["video_id"] == ids.parse(heat["Id"]).id and history[0]["position"] == 0.7
    resume = site.get(f"/Users/{user_id}/Items/Resume?MediaTypes=Video", headers=headers).json["Items"]
    assert [i["Id"] for i in resume] == [heat["Id"]]
    assert site.get(f"/UserItems/Resume?userId={user_id}", headers=headers).json["Items"] == resume  # 10.9's route
    assert site.get(f"/Users/{user_id}/Items/Resume?MediaTypes=Audio", headers=headers).json["Items"] == []
    # Haema's own player saves; Jellyfin sees it
    token = headers["Authorization"].split('Token="')[1].rstrip('"')
    site.put_json(f"/api/v1/video/{ids.parse(heat['Id']).id}/progress", {"position": 1.5},
                  headers={"Authorization": f"Bearer {token}"})
    data = site.get(f"/Items/{heat['Id']}", headers=headers).json["UserData"]
    assert data["PlaybackPositionTicks"] == 15_000_000
    # past the probed end (a browser's duration): clamped, and finished
    site.post_json("/Sessions/Playing/Stopped", {"ItemId": heat["Id"], "PositionTicks": 999_000_000},
                   headers=headers, status=204)
    assert site.get(f"/Items/{heat['Id']}", headers=headers).json["UserData"]["Played"] is True


def test_played_items_next_up_and_latest(site):
    headers, user_id, _ = sign_in(site)
    bad = find(site, headers, "Breaking Bad", "Series")
    episodes = site.get(f"/Shows/{bad['Id']}/Episodes?userId={user_id}", headers=headers).json["Items"]
    pilot = next(e for e in episodes if e["ParentIndexNumber"] == 1 and e["IndexNumber"] == 1)
    first_up = site.get(f"/Shows/NextUp?SeriesId={bad['Id']}", headers=headers).json["Items"]
    assert [e["Id"] for e in first_up] == [episodes[0]["Id"]]
    assert site.post(f"/Users/{user_id}/PlayedItems/{pilot['Id']}", headers=headers).json["Played"] is True
    up = site.get(f"/Shows/NextUp?UserId={user_id}&Limit=24", headers=headers).json["Items"]
    assert [(e["ParentIndexNumber"], e["IndexNumber"]) for e in up] == [(1, 2)]
    assert site.delete(f"/UserPlayedItems/{pilot['Id']}", headers=headers).json["Played"] is False
    data = site.post_json(f"/UserItems/{pilot['Id']}/UserData", {"PlaybackPositionTicks": 5_000_000},
                          headers=headers).json
    assert data["PlaybackPositionTicks"] == 5_000_000 and not data["Played"]
    assert site.post_json(f"/UserItems/{pilot['Id']}/UserData", {"Played": True}, headers=headers).json["Played"]
    assert site.get(f"/Users/{user_id}/Items/{pilot['Id']}/UserData", headers=headers).json["Played"]
    site.delete(f"/UserPlayedItems/{pilot['Id']}", headers=headers)
    assert site.get("/Items/Counts", headers=headers).json["SeriesCount"] == 2
    latest = site.get(f"/Users/{user_id}/Items/Latest?Limit=16&ParentId={ids.MOVIES_VIEW}", headers=headers).json
    assert isinstance(latest, list) and {i["Type"] for i in latest} == {"Movie"}


def test_favourites_are_kept_per_user_and_filtered(site):
    """The heart on a film, a series, a season and an episode: kept, listed by the Favorites
    filters jellyfin-web's home row and tab use, taken back, and only the user's own."""
    headers, user_id, _ = sign_in(site)
    heat = find(site, headers, "Heat", "Movie")
    bad = find(site, headers, "Breaking Bad", "Series")
    season = site.get(f"/Shows/{bad['Id']}/Seasons", headers=headers).json["Items"][0]
    pilot = site.get(f"/Shows/{bad['Id']}/Episodes", headers=headers).json["Items"][0]
    for item in (heat, bad, season, pilot):
        assert item["UserData"]["IsFavorite"] is False
    assert site.post(f"/Users/{user_id}/FavoriteItems/{heat['Id']}", headers=headers).json["IsFavorite"] is True
    assert site.post(f"/UserFavoriteItems/{bad['Id']}", headers=headers).json["IsFavorite"] is True  # 10.9's route
    site.post(f"/UserFavoriteItems/{bad['Id']}", headers=headers)  # twice is once
    site.post(f"/UserFavoriteItems/{season['Id']}", headers=headers)
    site.post(f"/UserFavoriteItems/{pilot['Id']}", headers=headers)
    assert site.get(f"/Items/{heat['Id']}", headers=headers).json["UserData"]["IsFavorite"] is True

    def favourites(query):
        found = site.get(f"/Users/{user_id}/Items?Recursive=true&{query}", headers=headers).json["Items"]
        return sorted(i["Id"] for i in found)
    marked = sorted(i["Id"] for i in (heat, bad, pilot))  # a season is no child of the library
    assert favourites("Filters=IsFavorite") == marked
    assert favourites("IsFavorite=true") == marked
    assert favourites("Filters=IsFavorite&IncludeItemTypes=Movie") == [heat["Id"]]
    assert heat["Id"] not in favourites("IsFavorite=false")
    assert [s["UserData"]["IsFavorite"] for s in site.get(f"/Shows/{bad['Id']}/Seasons", headers=headers).json[
        "Items"] if s["Id"] == season["Id"]] == [True]

    assert site.delete(f"/Users/{user_id}/FavoriteItems/{heat['Id']}", headers=headers).json["IsFavorite"] is False
    assert heat["Id"] not in favourites("Filters=IsFavorite")
    site.post(f"/UserFavoriteItems/{ids.MOVIES_VIEW}", headers=headers, status=404)  # a view is no favourite
    site.post(f"/UserFavoriteItems/{ids.of_item('0123456789abcdef')}", headers=headers, status=404)

    with models.database.connection_context():
        accounts.add_user("bea", PASSWORD)
    answer = site.post_json("/Users/AuthenticateByName", {"Username": "bea", "Pw": PASSWORD},
                            headers={"Authorization": HEADER.format("")})
    bea = {"Authorization": HEADER.format(answer.json["AccessToken"])}
    assert site.get("/Items?Recursive=true&Filters=IsFavorite", headers=bea).json["Items"] == []
    site.post(f"/UserFavoriteItems/{pilot['Id']}", headers=bea)
    with models.database.connection_context():
        assert models.Favourite.select().count() == 4
        accounts.remove_user("bea")  # and her favourites with her
        assert models.Favourite.select().count() == 3


def test_unsupported_paths_are_404_not_500(site, caplog):
    caplog.set_level(logging.INFO)
    headers, _, _ = sign_in(site)
    assert site.get("/LiveTv/Programs/Recommended?IsAiring=true", headers=headers).json["Items"] == []  # home page
    site.get("/Items?SearchTerm=%E9", headers=headers, status=400)  # not UTF-8
    site.get("/LiveTv/Recordings?api_key=x", status=404)
    site.get("/livetv/recordings?api_key=y", status=404)
    assert sum("/livetv/recordings is not served" in r.getMessage() for r in caplog.records) == 1  # once, not per retry
    for item in (ids.of_item("0123456789abcdef"), ids.of_item("fedcba9876543210")):
        site.get(f"/Items/{item}/InstantMix", headers=headers, status=404)
    assert sum("/items/{id}/instantmix is not served" in r.getMessage() for r in caplog.records) == 1
    site.get("/Items/zzz", headers=headers, status=404)
    site.post_json("/Items/00000000000000000000000000000000/PlaybackInfo", {}, headers=headers, status=404)
    site.delete("/Videos/ActiveEncodings?deviceId=d1&PlaySessionId=x", headers=headers, status=204)
    site.get("/web/", status=404)  # no --jellyfin-web here: Haema's 404, not a Jellyfin route


def test_a_limited_client_gets_the_variants_under_its_limit(make_app, tmp_path):
    from harness.clips import make_clip
    root = tmp_path / "big"
    (root / "Movies").mkdir(parents=True)
    make_clip(root / "Movies" / "Wide (2004).mp4", seconds=2.0, width=1280, height=720, gop=24)
    site = make_app(root, auth=True)
    with models.database.connection_context():
        accounts.add_user("ada", PASSWORD, admin=True)
    headers, _, _ = sign_in(site)
    wide = find(site, headers, "Wide", "Movie")
    whole = site.get(f"/Videos/{wide['Id']}/master.m3u8", headers=headers).text
    variants = [line for line in whole.splitlines() if line.startswith("#EXT-X-STREAM-INF")]
    assert len(variants) > 1  # a copy and smaller rungs
    source = site.post_json(f"/Items/{wide['Id']}/PlaybackInfo", {"DeviceProfile": CHROME_PROFILE,
                                                                  "MaxStreamingBitrate": 1000}, headers=headers).json
    source = source["MediaSources"][0]
    assert not source["SupportsDirectPlay"] and "MaxStreamingBitrate=1000" in source["TranscodingUrl"]
    limited = site.get(source["TranscodingUrl"]).text  # signed: no header
    kept = [line for line in limited.splitlines() if line.startswith("#EXT-X-STREAM-INF")]
    assert len(kept) == 1 and kept[0] in variants and "RESOLUTION=1280x720" not in kept[0]
    assert site.get(next(line for line in limited.splitlines() if line and not line.startswith("#"))).text.startswith(
        "#EXTM3U")


def test_another_audio_track_is_the_default_of_the_hls_master(make_app, tmp_path):
    from harness.clips import make_clip
    root = tmp_path / "two"
    (root / "Movies").mkdir(parents=True)
    make_clip(root / "Movies" / "Duo (2003).mp4", seconds=2.0, width=160, height=96, gop=12, audio_tracks=2)
    site = make_app(root, auth=True)
    with models.database.connection_context():
        accounts.add_user("ada", PASSWORD, admin=True)
    headers, _, _ = sign_in(site)
    duo = find(site, headers, "Duo", "Movie")
    first = site.post_json(f"/Items/{duo['Id']}/PlaybackInfo", {"DeviceProfile": CHROME_PROFILE},
                           headers=headers).json["MediaSources"][0]
    assert first["SupportsDirectPlay"]
    second_audio = [s["Index"] for s in first["MediaStreams"] if s["Type"] == "Audio"][1]
    switched = site.post_json(f"/Items/{duo['Id']}/PlaybackInfo",
                              {"DeviceProfile": CHROME_PROFILE, "AudioStreamIndex": second_audio},
                              headers=headers).json["MediaSources"][0]
    assert not switched["SupportsDirectPlay"] and switched["DefaultAudioStreamIndex"] == second_audio
    text = site.get(switched["TranscodingUrl"]).text  # signed: no header
    audio = [line for line in text.splitlines() if line.startswith("#EXT-X-MEDIA:TYPE=AUDIO")]
    assert audio and all(("DEFAULT=YES" in line) == ('URI="/api/v1/video/' in line and "/audio_1" in line)
                         for line in audio), audio
    variant = next(line for line in text.splitlines() if line and not line.startswith("#"))
    assert variant.startswith("/api/v1/video/") and "sig=" in variant
    assert site.get(variant).text.startswith("#EXTM3U")  # the variant's playlist, through Haema's own route
    # Jellyfin's own HLS URL, as a client builds it: the token in the query
    own = site.get(f"/Videos/{duo['Id']}/master.m3u8?api_key={headers['Authorization'].split('Token=')[1][1:-1]}"
                   f"&AudioStreamIndex={second_audio}").text
    assert [line for line in own.splitlines() if "DEFAULT=YES" in line and "TYPE=AUDIO" in line] == \
        [line for line in audio if "DEFAULT=YES" in line]
    site.get(f"/Videos/{duo['Id']}/master.m3u8", status=401)


def test_master_with_default_audio_is_pure_text():
    from haema.jellyfin.master import with_default_audio
    text = ('#EXTM3U\n#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aac",NAME="A",DEFAULT=YES,URI="audio_0/stream.m3u8"\n'
            '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aac",NAME="B",DEFAULT=NO,URI="audio_1/stream.m3u8"\n'
            '#EXT-X-STREAM-INF:BANDWIDTH=1,AUDIO="aac"\noriginal/stream.m3u8\n')
    out = with_default_audio(text, 1, "/v/")
    assert 'DEFAULT=NO,URI="/v/audio_0/' in out and 'DEFAULT=YES,URI="/v/audio_1/' in out
    assert "\n/v/original/stream.m3u8\n" in out


def test_master_within_bitrate_keeps_the_variants_under_the_limit():
    from haema.jellyfin.master import within_bitrate
    text = ('#EXTM3U\n#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aac",NAME="A",URI="audio_0/stream.m3u8"\n'
            '#EXT-X-STREAM-INF:BANDWIDTH=9000000,AVERAGE-BANDWIDTH=6000000,AUDIO="aac"\noriginal/stream.m3u8\n'
            '#EXT-X-STREAM-INF:BANDWIDTH=4000000,AVERAGE-BANDWIDTH=3000000,AUDIO="aac"\n720/stream.m3u8\n'
            '#EXT-X-STREAM-INF:BANDWIDTH=1200000,AUDIO="aac"\n360/stream.m3u8\n')
    assert within_bitrate(text, 8_000_000) == text  # averages count, as Jellyfin compares a file's
    four = within_bitrate(text, 4_000_000)
    assert "original/" not in four and "720/stream.m3u8" in four and "360/" in four and 'URI="audio_0' in four
    assert [line for line in within_bitrate(text, 1000).splitlines() if not line.startswith("#")] == \
        ["360/stream.m3u8"]  # always one left to play


# Fields that clients built on Jellyfin's typed SDKs (the Kotlin one: Android TV, Findroid) cannot
# do without: a missing one fails the whole response (the names, from its generated models)
REQUIRED = {
    "UserPolicy": "AuthenticationProviderId EnableAllChannels EnableAllDevices EnableAllFolders "
                  "EnableAudioPlaybackTranscoding EnableContentDeletion EnableContentDownloading EnableLiveTvAccess "
                  "EnableLiveTvManagement EnableMediaConversion EnableMediaPlayback EnablePlaybackRemuxing "
                  "EnablePublicSharing EnableRemoteAccess EnableRemoteControlOfOtherUsers EnableSharedDeviceControl "
                  "EnableSyncTranscoding EnableUserPreferenceAccess EnableVideoPlaybackTranscoding "
                  "ForceRemoteSourceTranscoding InvalidLoginAttemptCount IsAdministrator IsDisabled IsHidden "
                  "LoginAttemptsBeforeLockout MaxActiveSessions PasswordResetProviderId RemoteClientBitrateLimit "
                  "SyncPlayAccess",
    "UserConfiguration": "DisplayCollectionsView DisplayMissingEpisodes EnableLocalPassword EnableNextEpisodeAutoPlay "
                         "GroupedFolders HidePlayedInLatest LatestItemsExcludes MyMediaExcludes OrderedViews "
                         "PlayDefaultAudioTrack RememberAudioSelections RememberSubtitleSelections SubtitleMode",
    "MediaStream": "Index IsDefault IsExternal IsForced IsHearingImpaired IsInterlaced IsOriginal IsTextSubtitleStream "
                   "SupportsExternalStream Type",
    "MediaSourceInfo": "GenPtsInput HasSegments IgnoreDts IgnoreIndex IsInfiniteStream IsRemote Protocol "
                       "ReadAtNativeFramerate RequiresClosing RequiresLooping RequiresOpening SupportsDirectPlay "
                       "SupportsDirectStream SupportsProbing SupportsTranscoding TranscodingSubProtocol Type",
    "SessionInfoDto": "HasCustomDeviceName IsActive LastActivityDate LastPlaybackCheckIn PlayableMediaTypes "
                      "SupportedCommands SupportsMediaControl SupportsRemoteControl UserId",
    "PlayerStateInfo": "CanSeek IsMuted IsPaused PlaybackOrder RepeatMode",
    "UserItemDataDto": "IsFavorite ItemId Key PlayCount PlaybackPositionTicks Played",
    "ItemCounts": "AlbumCount ArtistCount BookCount BoxSetCount EpisodeCount ItemCount MovieCount MusicVideoCount "
                  "ProgramCount SeriesCount SongCount TrailerCount",
    "TrickplayInfo": "Bandwidth Height Interval ThumbnailCount TileHeight TileWidth Width",
    "DisplayPreferencesDto": "PrimaryImageHeight PrimaryImageWidth RememberIndexing RememberSorting ScrollDirection "
                             "ShowBackdrop ShowSidebar SortOrder",
    "SystemInfo": "HasPendingRestart IsShuttingDown SupportsLibraryMonitor WebSocketPortNumber",
}


def test_responses_carry_what_typed_clients_require(site):
    headers, user_id, _ = sign_in(site)

    def check(kind, value):
        missing = set(REQUIRED[kind].split()) - set(value)
        assert not missing, (kind, missing)
        assert not [k for k in REQUIRED[kind].split() if value[k] is None], (kind, value)

    signed = site.post_json("/Users/AuthenticateByName", {"Username": "ada", "Pw": PASSWORD}).json
    for user in (signed["User"], site.get("/Users/Me", headers=headers).json):
        check("UserPolicy", user["Policy"])
        check("UserConfiguration", user["Configuration"])
    check("SessionInfoDto", signed["SessionInfo"])
    check("SystemInfo", site.get("/System/Info", headers=headers).json)
    amelie = find(site, headers, "Amélie", "Movie")
    source = site.post_json(f"/Items/{amelie['Id']}/PlaybackInfo", {"DeviceProfile": CHROME_PROFILE},
                            headers=headers).json["MediaSources"][0]
    full = site.get(f"/Items/{amelie['Id']}", headers=headers).json
    for found in (source, full["MediaSources"][0]):
        check("MediaSourceInfo", found)
        for stream in found["MediaStreams"]:
            check("MediaStream", stream)
    for by_width in full["Trickplay"].values():
        for info in by_width.values():
            check("TrickplayInfo", info)
    site.post_json("/Sessions/Playing", {"ItemId": amelie["Id"], "PositionTicks": 10_000_000}, headers=headers)
    for session in site.get("/Sessions", headers=headers).json:
        check("SessionInfoDto", session)
        check("PlayerStateInfo", session["PlayState"])
    check("UserItemDataDto", full["UserData"])
    for view in site.get("/UserViews", headers=headers).json["Items"]:
        check("UserItemDataDto", view["UserData"])
    check("ItemCounts", site.get("/Items/Counts", headers=headers).json)
    check("DisplayPreferencesDto", site.get("/DisplayPreferences/usersettings?client=emby", headers=headers).json)


# routes a client calls before it has a token (or, for images, never with one)
JELLYFIN_PUBLIC = {
    ("GET", "/system/info/public"), ("GET", "/system/ping"), ("POST", "/system/ping"), ("GET", "/users/public"),
    ("GET", "/quickconnect/enabled"), ("GET", "/branding/configuration"), ("GET", "/branding/css"),
    ("GET", "/branding/css.css"), ("POST", "/users/authenticatebyname"),
    ("GET", "/items/<item_id>/images/<kind>"), ("GET", "/items/<item_id>/images/<kind>/<index:int>"),
}


def test_every_jellyfin_route_but_sign_in_and_images_asks_for_a_token(site):
    """Generated from the route table, as test_auth's check of Haema's own routes."""
    routes = [(r.method, r.rule) for r in site.app.routes if r.config.get("jellyfin")]
    assert len(routes) > 60
    guid = ids.of_item("0123456789abcdef")
    for method, rule in routes:
        if (method, rule) in JELLYFIN_PUBLIC:
            continue
        url = re.sub(r"<\w+:int>", "3", re.sub(r"<root:re:[^>]*>", "livetv", re.sub(r"<(\w+)>", guid, rule)))
        url = url.replace("<rest:path>", "recordings")
        for headers in ({}, {"Authorization": HEADER.format("")}, {"X-Emby-Token": "not-a-token"}):
            response = site.request(url, method=method, headers=headers, body=b"{}", expect_errors=True)
            expected = 404 if rule.startswith("/<root") else 401
            if rule == "/videos/<item_id>/master.m3u8":
                expected = 401  # no signature, no token
            assert response.status_int == expected, (method, rule, headers, response.status, response.body)


def test_with_accounts_off_any_sign_in_is_the_household(app):
    answer = app.post_json("/Users/AuthenticateByName", {"Username": "anyone", "Pw": ""}).json
    assert answer["User"]["Name"] == "household" and answer["User"]["Policy"]["IsAdministrator"]
    heat = app.get("/Items?Recursive=true&IncludeItemTypes=Movie&SearchTerm=Heat").json["Items"][0]
    info = app.post_json(f"/Items/{heat['Id']}/PlaybackInfo", {}).json["MediaSources"][0]
    assert info["SupportsDirectPlay"]  # no profile: taken for a plain browser
    amelie = app.get("/Items?Recursive=true&IncludeItemTypes=Movie&SearchTerm=Amelie").json["Items"][0]
    source = app.post_json(f"/Items/{amelie['Id']}/PlaybackInfo", {}).json["MediaSources"][0]
    assert "sig=" not in source["TranscodingUrl"] and app.get(source["TranscodingUrl"]).text.startswith("#EXTM3U")


ODD_BODIES = (b"[]", b'{"ItemId": "zz", "PositionTicks": "x", "Played": "yes", "AudioStreamIndex": "two", '
              b'"MaxStreamingBitrate": [1], "DeviceProfile": {"DirectPlayProfiles": "x", "TranscodingProfiles": [1], '
              b'"MaxStreamingBitrate": {}}}')
ODD_QUERIES = ("", "?ParentId=zz&StartIndex=-1&Limit=0&SortBy=Nonsense&maxWidth=abc&Size=1&SeasonId=5ea5",
               "?MediaTypes=Audio&Filters=IsFavorite,IsResumable&fillHeight=30&IncludeItemTypes=Episode&Recursive=true"
               "&StartItemId=zz&AudioStreamIndex=9&Season=x&client=")


def test_no_jellyfin_route_fails_on_odd_input(site, caplog):
    """Every route, with a token, given ids of every kind and odd queries and bodies: answers, never a 500."""
    headers, user_id, token = sign_in(site)
    bad = find(site, headers, "Breaking Bad", "Series")
    season = site.get(f"/Shows/{bad['Id']}/Seasons", headers=headers).json["Items"][0]["Id"]
    heat = find(site, headers, "Heat", "Movie")["Id"]
    guids = (heat, bad["Id"], season, ids.MOVIES_VIEW, "0" * 32, "not-an-id")
    routes = [(r.method, r.rule) for r in site.app.routes if r.config.get("jellyfin")
              and not r.rule.startswith("/<") and r.rule != "/sessions/logout"]  # the token must last
    answers = collections.Counter()
    for method, rule in routes:
        for guid, query in itertools.product(guids, ODD_QUERIES):
            url = re.sub(r"<\w+:int>", "7", re.sub(r"<(\w+)>", guid, rule)) + query
            for body in ODD_BODIES if method == "POST" else (b"",):
                response = site.request(url, method=method, headers=headers, body=body, expect_errors=True)
                assert response.status_int < 500, (method, url, body, response.body)
                answers[response.status_int] += 1
    assert answers[200] > 900 and answers[404] > 300 and not answers[401] and sum(answers.values()) > 1500, answers
    assert not [r for r in caplog.records if r.levelname == "ERROR"]


def test_genres_from_nfo_files(make_app, tmp_path):
    from harness.clips import make_clip
    root = tmp_path / "genres"
    (root / "Movies").mkdir(parents=True)
    (root / "Shows" / "Night Trains" / "Season 01").mkdir(parents=True)
    for name, genres in (("Heat (1995)", ("Crime", "Drama")), ("Amélie (2001)", ("Comédie", "drama"))):
        make_clip(root / "Movies" / f"{name}.mp4", seconds=1.0, width=160, height=96, gop=12)
        (root / "Movies" / f"{name}.nfo").write_text(
            "<movie>" + "".join(f"<genre>{g}</genre>" for g in genres) + "</movie>", encoding="utf-8")
    make_clip(root / "Shows" / "Night Trains" / "Season 01" / "Night Trains - S01E01.mp4", seconds=1.0, width=160,
              height=96, gop=12)
    (root / "Shows" / "Night Trains" / "tvshow.nfo").write_text("<tvshow><genre>Drama</genre></tvshow>",
                                                                encoding="utf-8")
    site = make_app(root)
    everything = site.get("/Genres").json["Items"]
    assert [(g["Name"], g["ChildCount"], g["Type"]) for g in everything] == [
        ("Comédie", 1, "Genre"), ("Crime", 1, "Genre"), ("Drama", 3, "Genre")]  # "drama" is Drama
    films = site.get(f"/Genres?ParentId={ids.MOVIES_VIEW}&SortBy=SortName").json["Items"]
    assert [g["ChildCount"] for g in films if g["Name"] == "Drama"] == [2]
    assert [g["Name"] for g in site.get("/Genres?IncludeItemTypes=Series").json["Items"]] == ["Drama"]
    drama = next(g for g in everything if g["Name"] == "Drama")
    in_drama = site.get(f"/Items?Recursive=true&IncludeItemTypes=Movie&GenreIds={drama['Id']}").json["Items"]
    assert sorted(i["Name"] for i in in_drama) == ["Amélie", "Heat"]
    assert [i["Name"] for i in site.get("/Items?Recursive=true&Genres=comedie|Crime&SortBy=SortName").json[
        "Items"]] == ["Amélie", "Heat"]
    assert [i["Type"] for i in site.get(f"/Items?ParentId={drama['Id']}").json["Items"]].count("Series") == 1
    assert site.get(f"/Items/{drama['Id']}").json["Name"] == "Drama"
    assert site.get("/Genres/DRAMA").json["Id"] == drama["Id"]
    site.get("/Genres/Western", status=404)
    assert site.get(f"/Items/Filters?ParentId={ids.MOVIES_VIEW}").json["Genres"] == ["Comédie", "Crime", "Drama"]
    assert {"Name": "Drama", "Id": drama["Id"]} in site.get("/Items/Filters2").json["Genres"]


def test_a_snapshot_serves_a_users_requests_until_something_changes(site, monkeypatch):
    from haema.jellyfin import browse
    built = []

    class Counted(browse.Snapshot):
        def __init__(self, *args):
            built.append(args[0])
            super().__init__(*args)
    monkeypatch.setattr(browse, "Snapshot", Counted)
    headers, user_id, _ = sign_in(site)
    heat = find(site, headers, "Heat", "Movie")
    for path in ("/Items/Resume", "/Shows/NextUp", "/Items/Latest", "/UserViews", "/Items?Recursive=true"):
        site.get(path, headers=headers)
    assert len(built) == 1  # the home screen's requests: one build
    site.post_json("/Sessions/Playing/Progress", {"ItemId": heat["Id"], "PositionTicks": 10_000_000}, headers=headers)
    resumed = site.get("/Items/Resume", headers=headers).json["Items"]
    assert [i["Id"] for i in resumed] == [heat["Id"]] and len(built) == 2  # the change is seen
