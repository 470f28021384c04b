"""The scanner on a temp tree of generated clips, through the API that shows its result."""
import os
import shutil
import time

from haema.models import ID_KEY, Secret, path_hash, stable_id

from harness.server import SCAN_TIMEOUT


def titles(app, **query):
    return [show["info"]["title"] for show in app.get("/api/v1/shows", query).json]


def find(app, title):
    return next(s for s in app.get("/api/v1/shows").json if s["info"]["title"] == title)


def test_every_layout_is_indexed_and_sorted_by_title(app):
    assert titles(app) == ["Amélie", "Breaking Bad", "Cowboy Bebop", "Heat", "Rock 'n' $(Roll); & Friends #1"]


def test_movie_shape(app):
    heat = find(app, "Heat")
    assert heat == {"type": "movie", "progress": None, "info": {
        "id": stable_id("Movies/Heat (1995).mp4", Secret.key(ID_KEY)), "title": "Heat", "year": 1995, "original_title": None,
        "genres": [], "rating": None, "runtime": None, "added": heat["info"]["added"],
        "thumbnail_shape": "landscape", "thumbnail": heat["info"]["thumbnail"], "banner": None}}


def test_season_layout_orders_episodes_with_specials_first(app):
    show = find(app, "Breaking Bad")
    assert show["type"] == "series"
    assert [(e["index"], e["title"]) for e in show["episodes"]] == [
        ("S00E01", "Chicks 'n' Guns"),
        ("S01E01", "Pilot"),
        ("S01E02", "Cat's in the Bag"),
        ("S02E01", "Seven Thirty-Seven"),
    ]


def test_flat_numbered_folder_is_a_series(app):
    show = find(app, "Cowboy Bebop")
    assert [e["index"] for e in show["episodes"]] == ["S01E01", "S01E02"]


def test_broken_and_empty_files_are_skipped_with_a_reason(app):
    report = app.get("/api/v1/library/scan").json
    skipped = {s["path"]: s["reason"] for s in report["skipped"]}
    assert set(skipped) == {"Movies/Broken (2020).mp4", "Movies/Empty (2021).mkv"}
    assert all(reason for reason in skipped.values())


def test_ids_survive_a_moved_library_but_not_the_loss_of_their_key(make_app, library_root, tmp_path, wipe_database):
    """Ids are keyed by a secret kept in the database: the same for a library moved
    elsewhere, new (with the history that named them gone too) for a deleted database,
    and never the unkeyed hash of the path, which anyone could compute."""
    first = make_app(library_root)
    before = {s["info"]["id"]: s for s in first.get("/api/v1/shows").json}
    assert path_hash("Movies/Heat (1995).mp4") not in before
    moved = tmp_path / "elsewhere"
    shutil.move(library_root, moved)
    after = {s["info"]["id"]: s for s in make_app(moved).get("/api/v1/shows").json}
    assert before == after
    wipe_database()
    renewed = {s["info"]["id"]: s["info"]["title"] for s in make_app(moved).get("/api/v1/shows").json}
    assert sorted(renewed.values()) == sorted(s["info"]["title"] for s in before.values())
    assert not set(renewed) & set(before)


def test_rescan_drops_removed_files_and_adds_new_ones(app, library_root):
    os.remove(library_root / "Movies/Heat (1995).mp4")
    shutil.copy(library_root / "Shows/Cowboy Bebop/[Group] Cowboy Bebop - 01 [1080p].mkv",
                library_root / "Shows/Cowboy Bebop/[Group] Cowboy Bebop - 03 [1080p].mkv")
    started = app.get("/api/v1/library/scan").json["started_at"]
    app.post("/api/v1/library/scan", status=202)
    deadline = time.monotonic() + SCAN_TIMEOUT
    while time.monotonic() < deadline:
        report = app.get("/api/v1/library/scan").json
        if report["started_at"] != started and not report["running"]:
            break
        time.sleep(0.05)
    assert "Heat" not in titles(app)
    assert [e["index"] for e in find(app, "Cowboy Bebop")["episodes"]] == ["S01E01", "S01E02", "S01E03"]


def test_unchanged_files_are_not_probed_again(app):
    library = app.app.config["haema.library"]
    report = library.scan()
    assert report.files == len([p for p in library.walk()])
    assert (report.probed, report.added, report.updated, report.removed) == (0, 0, 0, 0)


def test_probe_facts_are_stored(app):
    amelie = find(app, "Amélie")
    video = app.get(f"/api/v1/video/{amelie['info']['id']}").json
    assert video["duration"] > 1.9
    assert video["video"]["codec"] == "h264"
    assert (video["video"]["width"], video["video"]["height"]) == (160, 96)
    assert [a["codec"] for a in video["audio"]] == ["ac3"]
    assert video["audio"][0]["language"] == "eng"
    assert {"language": "fr", "format": "srt", "forced": False, "source": "sidecar"} in video["subtitles"]


def test_keyframes_are_indexed_in_the_background_pass(app):
    from haema.models import Video
    with Video._meta.database.connection_context():
        assert all(v.keyframes and v.keyframes.pts for v in Video.select())


def test_symlink_out_of_the_library_is_not_indexed(make_app, library_root, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    shutil.copy(library_root / "Movies/Heat (1995).mp4", outside / "Secret (2000).mp4")
    os.symlink(outside, library_root / "Movies/link")
    os.symlink(outside / "Secret (2000).mp4", library_root / "Movies/Secret (2000).mp4")
    assert "Secret" not in titles(make_app(library_root))
