"""Playback preferences over HTTP: read back, changed one field at a time, checked, kept per
user, and handed on as history is (the household's to the first admin)."""
import logging

import pytest
import webtest

from haema import accounts, models, preferences

DEFAULTS = {"audio_language": None, "subtitle_language": None, "quality": "auto"}
ORIGIN = {"Origin": "http://localhost:80"}
PASSWORDS = {"ada": "ada's long secret", "bob": "bob's long secret"}


@pytest.fixture
def empty_library(tmp_path):
    root = tmp_path / "media"
    root.mkdir()
    return root


@pytest.fixture
def household(make_app, empty_library):
    """The app with accounts off: every request is the household's."""
    return make_app(empty_library, scan=False)


@pytest.fixture
def cheap_passwords(monkeypatch):
    monkeypatch.setattr(accounts, "SCRYPT", {"n": 2 ** 4, "r": 8, "p": 1})


def signed_in(app, name):
    client = webtest.TestApp(app.app)
    client.post_json("/api/v1/auth/login", {"username": name, "password": PASSWORDS[name]}, headers=ORIGIN)
    return client


def test_a_user_who_never_chose_gets_the_films_own_tracks_and_automatic_quality(household):
    assert household.get("/api/v1/preferences").json == DEFAULTS


def test_a_choice_changes_its_field_only_and_is_read_back(household):
    household.put_json("/api/v1/preferences", {"subtitle_language": "en"})
    household.put_json("/api/v1/preferences", {"quality": 480})
    saved = household.put_json("/api/v1/preferences", {"audio_language": "fr"}).json
    assert saved == {"audio_language": "fr", "subtitle_language": "en", "quality": 480}
    assert household.get("/api/v1/preferences").json == saved
    household.put_json("/api/v1/preferences", {"subtitle_language": "none", "quality": "auto"})
    assert household.get("/api/v1/preferences").json == {"audio_language": "fr", "subtitle_language": "none",
                                                         "quality": "auto"}


@pytest.mark.parametrize("code, tag", [("fre", "fr"), ("fra", "fr"), ("FR", "fr"), ("ger", "de"), ("eng", "en"),
                                       ("qaa", "qaa")])
def test_a_language_is_kept_as_the_tag_the_master_gives_its_tracks(household, code, tag):
    """Matroska says "fre" or "fra", a sidecar's name "fr", the HLS master "fr": one choice matches them all."""
    assert household.put_json("/api/v1/preferences", {"audio_language": code}).json["audio_language"] == tag


@pytest.mark.parametrize("body, words", [
    ({"quality": 721.5}, 'quality must be "auto" or a height'),
    ({"quality": "720p"}, 'quality must be "auto" or a height'),
    ({"quality": True}, 'quality must be "auto" or a height'),
    ({"quality": 0}, 'quality must be "auto" or a height'),
    ({"quality": 10 ** 20}, 'quality must be "auto" or a height'),
    ({"audio_language": "english"}, "audio_language must be an ISO 639 language code"),
    ({"audio_language": "none"}, "audio_language must be an ISO 639 language code"),
    ({"subtitle_language": 5}, 'subtitle_language must be an ISO 639 language code such as "en" or "eng", '
                               'or "none" for off'),
    ({"subtitle_language": "e1"}, "subtitle_language must be an ISO 639 language code"),
    ({"colour": "red"}, "unknown preference 'colour'"),
    ({}, "send a JSON object"),
    ([], "send a JSON object"),
])
def test_a_bad_preference_is_a_400_that_says_what_is_wrong(household, body, words):
    response = household.put_json("/api/v1/preferences", body, status=400)
    assert words in response.json["error"]
    assert household.get("/api/v1/preferences").json == DEFAULTS  # and nothing was saved


def test_a_body_that_is_no_json_is_a_400(household):
    response = household.put("/api/v1/preferences", "subtitles=en", content_type="text/plain", status=400)
    assert response.json == {"error": "the request body is not valid JSON"}


def test_preferences_outlive_a_restart(make_app, empty_library, household):
    household.put_json("/api/v1/preferences", {"subtitle_language": "fr", "quality": 720})
    again = make_app(empty_library, scan=False)
    assert again.get("/api/v1/preferences").json == {"audio_language": None, "subtitle_language": "fr",
                                                     "quality": 720}


def test_each_user_has_their_own_and_the_first_admin_adopts_the_households(make_app, empty_library, household,
                                                                             cheap_passwords):
    household.put_json("/api/v1/preferences", {"subtitle_language": "de"})
    with models.database.connection_context():
        models.Favourite.create(user_id=models.HOUSEHOLD, item="0123456789abcdef")  # and a TV's favourite
    site = make_app(empty_library, auth=True, scan=False)  # the same database, now with accounts
    site.get("/api/v1/preferences", status=401)
    with models.database.connection_context():
        accounts.add_user("ada", PASSWORDS["ada"], admin=True)
        accounts.add_user("bob", PASSWORDS["bob"])
        assert [f.user_id for f in models.Favourite.select()] == [models.User.get(name="ada").id]
    ada, bob = signed_in(site, "ada"), signed_in(site, "bob")
    assert ada.get("/api/v1/preferences").json["subtitle_language"] == "de"
    bob.put_json("/api/v1/preferences", {"subtitle_language": "en"}, headers=ORIGIN)
    assert ada.get("/api/v1/preferences").json["subtitle_language"] == "de"
    assert bob.get("/api/v1/preferences").json["subtitle_language"] == "en"
    ada.delete("/api/v1/users/bob", headers=ORIGIN, status=204)
    with models.database.connection_context():
        assert [row.subtitle_language for row in models.PlaybackPreference.select()] == ["de"]


def test_a_save_is_one_statement_of_the_fields_it_names(household, caplog):
    """A TV and a browser saving different choices at once both keep theirs: reading the row
    and writing it whole would put the other's old value back."""
    with models.database.connection_context():
        preferences.save(models.HOUSEHOLD, quality=720)
        caplog.set_level(logging.DEBUG, logger="peewee")
        preferences.save(models.HOUSEHOLD, subtitle_language="fr")
        [statement] = [record.getMessage() for record in caplog.records if record.name == "peewee"]
        assert "quality" not in statement and "subtitle_language" in statement
        assert preferences.get_preferences(models.HOUSEHOLD) == preferences.PlaybackPreferences(None, "fr", 720)
