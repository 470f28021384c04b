"""Kodi/Jellyfin .nfo files: parsed alone, then read by a scan and carried by the API."""
import logging
import os

import pytest

from haema import nfo
from haema.models import Generation, database

MOVIE_NFO = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<movie>
  <title>Le Fabuleux Destin d'Amélie Poulain</title>
  <originaltitle>Amélie</originaltitle>
  <plot>A shy waitress decides to change the lives of those around her.</plot>
  <premiered>2001-04-25</premiered>
  <genre>Comedy</genre><genre>Romance / Comedy</genre>
  <ratings><rating name="tmdb"><value>7.1</value></rating><rating name="imdb" default="true"><value>8.3</value></rating></ratings>
  <runtime>122</runtime>
</movie>
https://www.themoviedb.org/movie/194
"""


def test_a_movie_nfo_with_a_scraper_url_after_it():
    details = nfo.parse(MOVIE_NFO.encode())
    assert details == nfo.Details(
        title="Le Fabuleux Destin d'Amélie Poulain", original_title="Amélie",
        plot="A shy waitress decides to change the lives of those around her.", year=2001,
        genres=("Comedy", "Romance"), rating=8.3, runtime=122)


def test_an_episode_nfo_with_a_plain_rating():
    details = nfo.parse(b"<episodedetails><title>Pilot</title><rating>9.0</rating><aired>2008-01-20</aired>"
                        b"<plot> Walter  </plot></episodedetails>")
    assert (details.title, details.rating, details.year, details.plot, details.genres) == (
        "Pilot", 9.0, 2008, "Walter", ())


@pytest.mark.parametrize("data", [b"<movie><title>Heat</movie>", b"", b"<html><body>not an nfo</body></html>"])
def test_what_is_not_an_nfo_is_refused(data):
    with pytest.raises(ValueError):
        nfo.parse(data)


def test_a_scan_reads_nfo_files_and_skips_a_bad_one(make_app, library_root, caplog):
    (library_root / "Movies" / "Amélie (2001)" / "movie.nfo").write_text(MOVIE_NFO, encoding="utf-8")
    series = library_root / "Shows" / "Breaking Bad (2008)"
    (series / "tvshow.nfo").write_text(
        "<tvshow><title>Breaking Bad</title><plot>A chemistry teacher turns to crime.</plot>"
        "<genre>Drama</genre><year>2008</year><rating>9.5</rating></tvshow>", encoding="utf-8")
    (series / "Season 01" / "Breaking Bad - S01E01 - Pilot.nfo").write_text(
        "<episodedetails><title>Pilot (extended)</title><plot>Walter is diagnosed.</plot></episodedetails>",
        encoding="utf-8")
    (library_root / "Movies" / "Heat (1995).nfo").write_text("<movie><title>Heat</movie>", encoding="utf-8")
    before = sorted(p for p in library_root.rglob("*"))
    mtimes = {p: os.stat(p).st_mtime for p in before}

    with caplog.at_level(logging.WARNING, logger="haema.nfo"):
        app = make_app(library_root)
    shows = {s["info"]["title"]: s for s in app.get("/api/v1/shows").json}
    amelie = shows["Le Fabuleux Destin d'Amélie Poulain"]["info"]
    assert (amelie["original_title"], amelie["year"], amelie["genres"], amelie["rating"], amelie["runtime"]) == (
        "Amélie", 2001, ["Comedy", "Romance"], 8.3, 122)
    assert app.get("/api/v1/shows", {"search": "amelie"}).json[0]["info"]["id"] == amelie["id"]
    bad = app.get(f"/api/v1/shows/{shows['Breaking Bad']['info']['id']}").json  # plots are on the show, not the listing
    assert bad["info"]["plot"] == "A chemistry teacher turns to crime." and bad["info"]["genres"] == ["Drama"]
    pilot = next(e for e in bad["episodes"] if e["index"] == "S01E01")
    assert (pilot["title"], pilot["plot"]) == ("Pilot (extended)", "Walter is diagnosed.")
    video = app.get(f"/api/v1/video/{pilot['id']}").json
    assert (video["title"], video["show_title"]) == ("Pilot (extended)", "Breaking Bad")
    # the broken file: named in the log, and the name from the folder tree stands
    assert app.get(f"/api/v1/shows/{shows['Heat']['info']['id']}").json["info"]["plot"] is None
    assert any("Heat (1995).nfo" in r.getMessage() and "not well-formed" in r.getMessage() for r in caplog.records)
    # read only: nothing in the folder was written, added or removed
    assert sorted(p for p in library_root.rglob("*")) == before
    assert {p: os.stat(p).st_mtime for p in before} == mtimes


def test_a_changed_nfo_is_read_again_and_a_removed_one_forgotten(make_app, library_root):
    path = library_root / "Shows" / "Breaking Bad (2008)" / "tvshow.nfo"
    path.write_text("<tvshow><plot>First.</plot></tvshow>", encoding="utf-8")
    app = make_app(library_root)
    library = app.app.config["haema.library"]
    show_id = next(s for s in app.get("/api/v1/shows").json if s["info"]["title"] == "Breaking Bad")["info"]["id"]
    plot = lambda: app.get(f"/api/v1/shows/{show_id}").json["info"]["plot"]  # noqa: E731
    assert plot() == "First."
    path.write_text("<tvshow><plot>Second.</plot></tvshow>", encoding="utf-8")
    os.utime(path, (1, 1))
    library.scan()
    assert plot() == "Second."
    path.unlink()
    library.scan()
    assert plot() is None


def test_a_rescan_of_an_unchanged_library_writes_nothing(make_app, library_root):
    """.nfo files are read at every scan, but a row is written only when they changed: a
    write tells every cached listing it is stale."""
    (library_root / "Shows" / "Breaking Bad (2008)" / "tvshow.nfo").write_text(
        "<tvshow><title>Breaking Bad</title><originaltitle>Breaking Bad</originaltitle></tvshow>", encoding="utf-8")
    app = make_app(library_root)
    with database.connection_context():
        before = Generation.current()
        app.app.config["haema.library"].scan()
        assert Generation.current() == before
