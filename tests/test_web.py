"""The JSON API over the real WSGI app: shapes, search, artwork and hostile input."""

import pytest

from haema import storage


def test_search_is_case_and_accent_blind(app):
    assert [s["info"]["title"] for s in app.get("/api/v1/shows?search=AMELIE").json] == ["Amélie"]


def test_search_matches_episode_titles(app):
    assert [s["info"]["title"] for s in app.get("/api/v1/shows?search=thirty-seven").json] == ["Breaking Bad"]


def test_search_treats_wildcards_literally(app):
    assert app.get("/api/v1/shows?search=%25").json == []
    assert app.get("/api/v1/shows?search=_").json == []


def test_show_by_id_matches_the_listing_plus_plots(app):
    for show in app.get("/api/v1/shows").json:
        full = app.get(f"/api/v1/shows/{show['info']['id']}").json
        assert full["info"].pop("plot") is None
        for episode in full.get("episodes", []):
            assert episode.pop("plot") is None
        assert full == show


def test_episode_video_metadata(app):
    show = next(s for s in app.get("/api/v1/shows").json if s["info"]["title"] == "Breaking Bad")
    episode = show["episodes"][1]
    video = app.get(f"/api/v1/video/{episode['id']}").json
    assert (video["show_id"], video["index"], video["title"]) == (show["info"]["id"], "S01E01", "Pilot")


def test_movie_is_played_with_its_show_id(app):
    movie = next(s for s in app.get("/api/v1/shows").json if s["type"] == "movie")
    assert app.get(f"/api/v1/video/{movie['info']['id']}").json["show_id"] == movie["info"]["id"]


def test_folder_artwork_is_served(app):
    amelie = next(s for s in app.get("/api/v1/shows").json if s["info"]["title"] == "Amélie")
    response = app.get(amelie["info"]["thumbnail"])
    assert response.body.startswith(b"\xff\xd8")
    show = next(s for s in app.get("/api/v1/shows").json if s["info"]["title"] == "Breaking Bad")
    assert app.get(show["info"]["banner"]).status_int == 200


def test_a_frame_is_the_thumbnail_when_there_is_no_poster(app):
    heat = next(s for s in app.get("/api/v1/shows").json if s["info"]["title"] == "Heat")
    response = app.get(heat["info"]["thumbnail"])
    assert response.content_type == "image/jpeg"
    assert response.body[:2] == b"\xff\xd8" and len(response.body) > 500


@pytest.mark.parametrize("path", [
    "/api/v1/shows/0123456789abcdef",
    "/api/v1/video/0123456789abcdef",
    "/api/v1/video/..%2F..%2Fetc%2Fpasswd",
    "/api/v1/video/%2e%2e",
    "/api/v1/shows/..",
    "/api/v1/shows/%2Fetc%2Fpasswd/thumbnail",
    "/api/v1/shows/0123456789abcdef/banner",
    "/api/v1/video/ZZZ",
    "/api/v1/nothing",
    "/etc/passwd",
    "/api/v1/shows/'%3B%20DROP%20TABLE%20show",
])
def test_unknown_or_hostile_ids_are_json_404(app, path):
    response = app.get(path, status=404)
    assert response.content_type == "application/json"
    assert "error" in response.json


def test_wrong_method_is_json_405(app):
    response = app.delete("/api/v1/shows", status=405)
    assert response.json == {"error": "method not allowed"}


def test_missing_artwork_is_404_not_a_crash(app):
    heat = next(s for s in app.get("/api/v1/shows").json if s["info"]["title"] == "Heat")
    app.get(f"/api/v1/shows/{heat['info']['id']}/banner", status=404)


def test_the_listing_follows_changes_made_by_other_processes(app, database_url):
    """The cached listing must not outlive a change, wherever the change was made."""
    app.get("/api/v1/shows")  # now cached
    other = storage.connect(database_url, pooled=False)  # a connection like the scanner's or another node's
    with other.connection_context():
        other.execute_sql("""UPDATE "show" SET title = 'Heat Wave' WHERE title = 'Heat'""")
    after = app.get("/api/v1/shows").json
    assert "Heat Wave" in [s["info"]["title"] for s in after]
    movie = next(s for s in after if s["type"] == "movie")
    app.put_json(f"/api/v1/video/{movie['info']['id']}/progress", {"position": 1})
    assert next(s for s in app.get("/api/v1/shows").json if s["type"] == "movie")["progress"]


def test_an_unchanged_listing_is_a_304(app):
    first = app.get("/api/v1/shows")
    assert app.get("/api/v1/shows", headers={"If-None-Match": first.headers["ETag"]}, status=304).body == b""
    searched = app.get("/api/v1/shows?search=heat")
    assert searched.headers["ETag"] != first.headers["ETag"]
    movie = next(s for s in first.json if s["type"] == "movie")
    app.put_json(f"/api/v1/video/{movie['info']['id']}/progress", {"position": 1})
    assert app.get("/api/v1/shows", headers={"If-None-Match": first.headers["ETag"]}).status_int == 200
