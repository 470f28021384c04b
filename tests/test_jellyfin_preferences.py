"""Jellyfin apps and the web player share a user's playback preferences: the audio and subtitle
languages of a UserConfiguration are Haema's (haema/preferences.py), and PlaybackInfo's default
streams follow them. The mapping is tested as the pure functions it is, then through the app."""
import os

import pytest

from haema import accounts, models
from haema.jellyfin import ids, items
from haema.preferences import PlaybackPreferences

from harness.clips import make_clip
from harness.chromium import CHROMIUM, launched
from .test_browser import TIMEOUT
from .test_jellyfin_api import CHROME_PROFILE, PASSWORD, cheap_passwords, find, sign_in  # noqa: F401
from .test_jellyfin_web import ADA, BUILD, Jellyfin, family, family_library  # noqa: F401
from .test_jellyfin_web import sign_in_to_jellyfin_web

ORIGIN = {"Origin": "http://localhost:80"}


# -- pure ------------------------------------------------------------------------


@pytest.mark.parametrize("chosen, configuration", [
    (PlaybackPreferences(), {"PlayDefaultAudioTrack": True, "AudioLanguagePreference": "",
                             "SubtitleLanguagePreference": "", "SubtitleMode": "Default"}),
    (PlaybackPreferences("fr", "de", 720), {"PlayDefaultAudioTrack": False, "AudioLanguagePreference": "fre",
                                            "SubtitleLanguagePreference": "ger", "SubtitleMode": "Always"}),
    (PlaybackPreferences("en", "none"), {"PlayDefaultAudioTrack": False, "AudioLanguagePreference": "eng",
                                         "SubtitleLanguagePreference": "", "SubtitleMode": "None"}),
])
def test_preferences_as_a_user_configuration_and_back(chosen, configuration):
    """What an app reads it can post back unchanged (jellyfin-web posts the whole configuration)."""
    assert items.user_configuration(chosen) == configuration
    posted = {key.lower(): value for key, value in configuration.items()}
    # the quality is the web player's alone
    assert items.configured_preferences(posted, PlaybackPreferences(quality=480)) == {
        "audio_language": chosen.audio_language, "subtitle_language": chosen.subtitle_language}


def test_a_configuration_sets_what_it_names_and_keeps_the_rest():
    chosen = PlaybackPreferences("fr", "en", 360)
    assert items.configured_preferences({}, chosen) == {}
    assert items.configured_preferences({"subtitlemode": "None"}, chosen) == {"subtitle_language": "none"}
    # a language alone keeps PlayDefaultAudioTrack as it was (false, as a language is chosen)
    assert items.configured_preferences({"audiolanguagepreference": "ger"}, chosen) == {"audio_language": "de"}
    # the default track is played whatever the language, as in Jellyfin
    assert items.configured_preferences({"playdefaultaudiotrack": True, "audiolanguagepreference": "ger"},
                                        chosen) == {"audio_language": None}
    assert items.configured_preferences({"subtitlemode": "Smart", "subtitlelanguagepreference": "spa"},
                                        chosen) == {"subtitle_language": "es"}


@pytest.mark.parametrize("body, words", [
    ({"playdefaultaudiotrack": "yes"}, "PlayDefaultAudioTrack must be true or false"),
    ({"playdefaultaudiotrack": False, "audiolanguagepreference": "English"}, "AudioLanguagePreference must be"),
    ({"subtitlemode": "Sometimes"}, "SubtitleMode must be one of Default, Always, OnlyForced, None, Smart"),
    ({"subtitlemode": "Always", "subtitlelanguagepreference": 7}, "SubtitleLanguagePreference must be"),
])
def test_a_configuration_of_the_wrong_kind_says_what_is_wrong(body, words):
    from haema.errors import HaemaError
    with pytest.raises(HaemaError, match=words) as error:
        items.configured_preferences(body, PlaybackPreferences())
    assert error.value.status == 400


STREAMS = [{"Type": "Video", "Index": 0, "IsForced": False, "Language": None},
           {"Type": "Audio", "Index": 1, "IsForced": False, "Language": "eng"},
           {"Type": "Audio", "Index": 2, "IsForced": False, "Language": "fre"},
           {"Type": "Subtitle", "Index": 3, "IsForced": True, "Language": "fr"},
           {"Type": "Subtitle", "Index": 4, "IsForced": False, "Language": "fr"},
           {"Type": "Subtitle", "Index": 5, "IsForced": False, "Language": "eng"}]


@pytest.mark.parametrize("chosen, asked, expected", [
    (PlaybackPreferences(), (None, None), (None, -1)),  # the file's default audio, no subtitles
    (PlaybackPreferences("fr", "fr"), (None, None), (2, 4)),  # "fre" and "fr" are French; unforced first
    (PlaybackPreferences("en", "en"), (None, None), (1, 5)),
    (PlaybackPreferences("de", "de"), (None, None), (None, -1)),  # none in German: as the file comes
    (PlaybackPreferences("fr", "none"), (None, None), (2, -1)),
    (PlaybackPreferences("fr", "fr"), (1, 5), (1, 5)),  # what the request names wins
    (PlaybackPreferences("fr", "fr"), (9, -1), (2, -1)),  # an index of no such track does not
])
def test_playback_info_streams_are_the_requests_else_the_preferences(chosen, asked, expected):
    assert items.chosen_streams(STREAMS, chosen, *asked) == expected


# -- through the app -----------------------------------------------------------------


@pytest.fixture
def site(make_app, tmp_path):
    """A film with English and French sound and subtitles; accounts on, admin ``ada``."""
    folder = tmp_path / "media" / "Movies" / "Duo (2003)"
    folder.mkdir(parents=True)
    make_clip(folder / "Duo (2003).mkv", seconds=2.0, width=160, height=96, gop=12, audio_tracks=2)
    for language in ("en", "fr"):
        (folder / f"Duo (2003).{language}.srt").write_text("1\n00:00:00,500 --> 00:00:01,500\nHello\n\n",
                                                           encoding="utf-8")
    app = make_app(tmp_path / "media", auth=True)
    with models.database.connection_context():
        accounts.add_user("ada", PASSWORD, admin=True)
    return app


def streams_of(site, headers, item_id):
    info = site.post_json(f"/Items/{item_id}/PlaybackInfo", {"DeviceProfile": CHROME_PROFILE}, headers=headers).json
    source = info["MediaSources"][0]
    languages = {s["Index"]: s.get("Language") for s in source["MediaStreams"]}
    return (languages.get(source["DefaultAudioStreamIndex"]), languages.get(source["DefaultSubtitleStreamIndex"]),
            source)


def test_a_choice_in_the_app_is_the_web_players_and_back(site):
    headers, user_id, token = sign_in(site)
    duo = find(site, headers, "Duo", "Movie")["Id"]
    assert streams_of(site, headers, duo)[:2] == ("eng", None)  # the file's default, no subtitles

    # the TV app's settings: French sound, English subtitles
    configuration = site.get("/Users/Me", headers=headers).json["Configuration"]
    site.post_json(f"/Users/{user_id}/Configuration", dict(configuration, PlayDefaultAudioTrack=False,
                                                           AudioLanguagePreference="fre", SubtitleMode="Always",
                                                           SubtitleLanguagePreference="eng"),
                   headers=headers, status=204)
    web = site.get("/api/v1/preferences", headers={"Authorization": f"Bearer {token}"}).json
    assert web == {"audio_language": "fr", "subtitle_language": "en", "quality": "auto"}
    audio, subtitles, source = streams_of(site, headers, duo)
    assert (audio, subtitles) == ("fra", "en")  # the file says "fra", the app "fre": both French
    assert not source["SupportsDirectPlay"]  # the file's default track is English: HLS with French as default
    text = site.get(source["TranscodingUrl"]).text
    assert any("DEFAULT=YES" in line and 'LANGUAGE="fr"' in line for line in text.splitlines()
               if line.startswith("#EXT-X-MEDIA:TYPE=AUDIO"))

    # the web player's choice: subtitles off; the app sees it
    site.put_json("/api/v1/preferences", {"subtitle_language": "none"},
                  headers={"Authorization": f"Bearer {token}", **ORIGIN})
    assert site.get("/Users/Me", headers=headers).json["Configuration"]["SubtitleMode"] == "None"
    assert streams_of(site, headers, duo)[:2] == ("fra", None)
    # 10.9's route, with the user in the query
    site.post_json(f"/Users/Configuration?userId={user_id}", {"SubtitleMode": "Default",
                                                              "SubtitleLanguagePreference": "fre"},
                   headers=headers, status=204)
    assert streams_of(site, headers, duo)[:2] == ("fra", "fr")


def test_the_languages_an_app_offers_are_the_ones_its_configuration_gives_back(site):
    """jellyfin-web's playback settings list Localization/Cultures and post the chosen one's
    ThreeLetterISOLanguageName: the same code comes back in the configuration, so it stays selected."""
    headers, user_id, _ = sign_in(site)
    cultures = site.get("/Localization/Cultures", headers=headers).json
    french = next(c for c in cultures if c["TwoLetterISOLanguageName"] == "fr")
    assert french["ThreeLetterISOLanguageName"] == "fre" and french["ThreeLetterISOLanguageNames"] == ["fra", "fre"]
    assert len(cultures) > 150 and [c["DisplayName"] for c in cultures] == sorted(c["DisplayName"] for c in cultures)
    for culture in cultures:  # every one is a language the preferences take
        chosen = {"SubtitleMode": "Always", "SubtitleLanguagePreference": culture["ThreeLetterISOLanguageName"]}
        site.post_json(f"/Users/{user_id}/Configuration", chosen, headers=headers, status=204)
        assert site.get("/Users/Me", headers=headers).json["Configuration"]["SubtitleLanguagePreference"] == \
            culture["ThreeLetterISOLanguageName"], culture


def test_an_app_changes_only_its_own_users_configuration_and_says_what_is_wrong(site):
    headers, user_id, _ = sign_in(site)
    site.post_json(f"/Users/{ids.of_user(999)}/Configuration", {"SubtitleMode": "None"}, headers=headers,
                   status=403)
    answer = site.post_json(f"/Users/{user_id}/Configuration", {"SubtitleMode": "Sometimes"}, headers=headers,
                            status=400)
    assert "SubtitleMode must be one of" in answer.json["error"]
    site.post(f"/Users/{user_id}/Configuration", b"[]", headers=headers, status=400)
    assert site.get("/Users/Me", headers=headers).json["Configuration"]["SubtitleMode"] == "Default"


# -- jellyfin-web's own settings pages (opt-in: a real build, see test_jellyfin_web) ------------

@pytest.mark.skipif(not BUILD, reason="HAEMA_JELLYFIN_WEB is not set: point it at the dist folder of a "
                    "jellyfin-web v10.10.x build")
@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"no Chromium at {CHROMIUM}")
def test_jellyfin_webs_settings_pages_and_haemas_player_share_the_choices(family):
    """French sound chosen in jellyfin-web's playback settings is the web player's preference, and
    subtitles the web player turned off show as "None" in jellyfin-web's subtitle settings."""
    server, api = family, Jellyfin(family.url)
    api.sign_in(*ADA)
    with launched() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 720})
        page.set_default_timeout(TIMEOUT)
        sign_in_to_jellyfin_web(page, server, ADA)
        page.wait_for_selector(".homeSectionsContainer")

        page.goto(f"{server.url}/web/#/mypreferencesplayback.html?userId={api.user_id}")
        page.wait_for_selector("#selectAudioLanguage option[value='fre']", state="attached")
        page.select_option("#selectAudioLanguage", "fre")
        page.locator(".chkPlayDefaultAudioTrack").uncheck(force=True)  # else the file's default plays
        with page.expect_response(lambda r: r.url.lower().endswith("/configuration")) as saved:
            page.locator(".btnSave:visible").click()
        assert saved.value.status == 204
        assert server.api("/api/v1/preferences")[1]["audio_language"] == "fr"

        assert server.api("/api/v1/preferences", "PUT", {"subtitle_language": "none"})[0] == 200
        page.goto(f"{server.url}/web/#/mypreferencessubtitles.html?userId={api.user_id}")
        page.wait_for_function("() => document.querySelector('#selectSubtitlePlaybackMode') && "
                               "document.querySelector('#selectSubtitlePlaybackMode').value === 'None'")
