"""Watch progress over HTTP: saving, validation, history, continue watching, concurrency, durability."""
import multiprocessing
import os
import shutil
import signal
import threading

import pytest

from haema import history, models, storage

from harness.server import running_server


@pytest.fixture
def library(app):
    """Videos by name: ``amelie``, ``heat`` (movies) and ``s00e01``… ``s02e01`` of Breaking Bad."""
    shows = {s["info"]["title"]: s for s in app.get("/api/v1/shows").json}
    videos = {"amelie": shows["Amélie"]["info"]["id"], "heat": shows["Heat"]["info"]["id"]}
    for episode in shows["Breaking Bad"]["episodes"]:
        videos[episode["index"].lower()] = episode["id"]
    return videos


def url(video_id):
    return f"/api/v1/video/{video_id}/progress"


def duration(app, video_id):
    return app.get(f"/api/v1/video/{video_id}").json["duration"]


def save(app, video_id, position, **kwargs):
    return app.put_json(url(video_id), {"position": position}, **kwargs)


# -- One video -----------------------------------------------------------------


def test_a_saved_position_is_read_back(app, library):
    saved = save(app, library["heat"], 1.25).json
    assert app.get(url(library["heat"])).json == saved
    assert saved["position"] == 1.25 and saved["finished"] is False
    assert saved["duration"] == duration(app, library["heat"])
    assert saved["updated_at"].endswith("Z")


def test_a_video_never_watched_is_at_zero(app, library):
    assert app.get(url(library["heat"])).json == {
        "position": 0.0, "duration": duration(app, library["heat"]), "finished": False, "updated_at": None}


def test_post_is_accepted_as_sendbeacon_sends_it(app, library):
    """sendBeacon can only POST, and sends a string body as text/plain."""
    app.post(url(library["heat"]), '{"position": 1.5}', content_type="text/plain;charset=UTF-8")
    assert app.get(url(library["heat"])).json["position"] == 1.5


def test_delete_clears_progress(app, library):
    save(app, library["heat"], 1.0)
    app.delete(url(library["heat"]), status=204)
    assert app.get(url(library["heat"])).json["updated_at"] is None
    app.delete(url(library["heat"]), status=204)  # clearing twice is fine


@pytest.mark.parametrize("body", [
    '{"position": -0.5}',
    '{"position": 9999}',  # past the end
    '{"position": 1e400}',  # overflows to infinity
    '{"position": NaN}',
    '{"position": Infinity}',
    '{"position": "12"}',
    '{"position": true}',
    '{"position": null}',
    '{"position": [1]}',
    '{"pos": 1}',
    "[1, 2]",
    '"1.5"',
    "12",
])
def test_bad_positions_are_400(app, library, body):
    response = app.put(url(library["heat"]), body, content_type="application/json", status=400)
    assert response.content_type == "application/json" and response.json["error"]
    assert app.get(url(library["heat"])).json["updated_at"] is None


@pytest.mark.parametrize("body", [b"", b"{bad json", b'{"position": 1', b"\xff\xfe\x00garbage"])
def test_a_body_that_is_not_json_is_400_not_500(app, library, body):
    response = app.put(url(library["heat"]), body, content_type="application/json", status=400)
    assert response.json["error"]


def test_the_whole_duration_is_a_valid_position(app, library):
    end = duration(app, library["heat"])
    assert save(app, library["heat"], end).json["position"] == end


@pytest.mark.parametrize("method", ["get", "delete", "put"])
@pytest.mark.parametrize("video_id", ["0123456789abcdef", "ZZZ", "..%2F..%2Fetc%2Fpasswd"])
def test_unknown_videos_are_404(app, method, video_id):
    kwargs = {"params": '{"position": 1}', "content_type": "application/json"} if method == "put" else {}
    response = getattr(app, method)(url(video_id), status=404, **kwargs)
    assert response.content_type == "application/json" and response.json["error"]


def test_finished_once_past_90_percent(app, library):
    end = duration(app, library["heat"])
    assert save(app, library["heat"], 0.9 * end).json["finished"] is False
    assert save(app, library["heat"], 0.9 * end + 0.01).json["finished"] is True
    assert save(app, library["heat"], 0.2).json["finished"] is False  # watching again


# -- Listings ------------------------------------------------------------------


def test_history_is_newest_first(app, library):
    for name in ("heat", "s01e01", "amelie", "heat"):
        save(app, library[name], 0.5)
    entries = app.get("/api/v1/history").json
    assert [e["video_id"] for e in entries] == [library["heat"], library["amelie"], library["s01e01"]]


def test_history_names_show_and_episode(app, library):
    save(app, library["s01e02"], 1.0)
    save(app, library["amelie"], 1.0)
    movie, episode = app.get("/api/v1/history").json
    assert episode["show"]["title"] == "Breaking Bad"
    assert episode["episode"] == {"id": library["s01e02"], "index": "S01E02", "title": "Cat's in the Bag",
                                  "season": 1, "episode": 2}
    assert (episode["position"], episode["finished"]) == (1.0, False)
    assert movie["show"]["title"] == "Amélie" and movie["episode"] is None and movie["type"] == "movie"
    assert movie["show"]["thumbnail"]


def test_history_limit(app, library):
    for name in ("heat", "amelie", "s01e01"):
        save(app, library[name], 0.5)
    assert [e["video_id"] for e in app.get("/api/v1/history?limit=2").json] == [library["s01e01"], library["amelie"]]
    app.get("/api/v1/history?limit=abc", status=400)
    app.get("/api/v1/history?limit=0", status=400)


def test_continue_lists_unfinished_videos_not_finished_movies(app, library):
    save(app, library["amelie"], 0.5)
    save(app, library["heat"], duration(app, library["heat"]))
    entries = app.get("/api/v1/continue").json
    assert [(e["video_id"], e["position"], e["next"]) for e in entries] == [(library["amelie"], 0.5, False)]


def test_continue_offers_the_next_episode_after_a_finished_one(app, library):
    save(app, library["amelie"], 0.5)
    save(app, library["s01e01"], duration(app, library["s01e01"]))
    first, second = app.get("/api/v1/continue").json
    assert first["video_id"] == library["s01e02"]
    assert first["episode"]["index"] == "S01E02"
    assert (first["next"], first["position"], first["finished"], first["updated_at"]) == (True, 0.0, False, None)
    assert second["video_id"] == library["amelie"]


def test_continue_skips_episodes_already_finished(app, library):
    save(app, library["s01e02"], duration(app, library["s01e02"]))
    save(app, library["s01e01"], duration(app, library["s01e01"]))
    assert [e["episode"]["index"] for e in app.get("/api/v1/continue").json] == ["S02E01"]


def test_continue_resumes_a_started_next_episode(app, library):
    save(app, library["s01e02"], 0.7)
    save(app, library["s01e01"], duration(app, library["s01e01"]))
    [entry] = app.get("/api/v1/continue").json
    assert (entry["episode"]["index"], entry["position"], entry["next"]) == ("S01E02", 0.7, False)


def test_continue_has_one_entry_per_show_the_last_watched(app, library):
    save(app, library["s01e01"], 0.5)
    save(app, library["s02e01"], 0.5)
    assert [e["episode"]["index"] for e in app.get("/api/v1/continue").json] == ["S02E01"]


def test_a_show_taken_out_of_continue_comes_back_when_watched_again(app, library):
    """An entry offering the next episode has no progress to forget: the show is taken out,
    its history kept, until any of it is watched again."""
    save(app, library["amelie"], 0.5)
    save(app, library["s01e01"], duration(app, library["s01e01"]))
    series = app.get("/api/v1/continue").json[0]["show"]["id"]
    app.delete(f"/api/v1/continue/{series}", status=204)
    app.delete(f"/api/v1/continue/{series}", status=204)  # twice is once
    assert [e["video_id"] for e in app.get("/api/v1/continue").json] == [library["amelie"]]
    assert app.get(f"/api/v1/video/{library['s01e01']}/progress").json["finished"] is True  # kept
    save(app, library["s01e02"], 0.5)
    assert [e["video_id"] for e in app.get("/api/v1/continue").json] == [library["s01e02"], library["amelie"]]
    app.delete("/api/v1/continue/0123456789abcdef", status=404)
    app.delete("/api/v1/continue/not-an-id", status=404)


def test_a_series_watched_to_the_end_leaves_continue(app, library):
    save(app, library["s02e01"], duration(app, library["s02e01"]))
    assert app.get("/api/v1/continue").json == []


def test_show_and_video_responses_carry_progress(app, library):
    saved = save(app, library["s01e02"], 1.0).json
    save(app, library["amelie"], 0.5)
    shows = {s["info"]["title"]: s for s in app.get("/api/v1/shows").json}
    progress = {e["index"]: e["progress"] for e in shows["Breaking Bad"]["episodes"]}
    assert progress == {"S00E01": None, "S01E01": None, "S01E02": saved, "S02E01": None}
    assert shows["Amélie"]["progress"]["position"] == 0.5
    assert shows["Heat"]["progress"] is None
    full = app.get(f"/api/v1/shows/{shows['Breaking Bad']['info']['id']}").json
    del full["info"]["plot"]  # plots are on the show page only, not in the listing
    for episode in full["episodes"]:
        del episode["plot"]
    assert full == shows["Breaking Bad"]
    assert app.get(f"/api/v1/video/{library['s01e02']}").json["progress"] == saved


def test_listing_progress_costs_no_query_per_episode(app, library, monkeypatch):
    """Regression guard against N+1: the query count must not grow with the number watched."""
    def queries(path):
        count = [0]
        real = models.database.obj.execute_sql

        def counting(*args, **kwargs):
            count[0] += 1
            return real(*args, **kwargs)
        with monkeypatch.context() as patch:
            patch.setattr(models.database.obj, "execute_sql", counting)
            app.get(path)
        return count[0]

    paths = ["/api/v1/shows", "/api/v1/history", "/api/v1/continue"]
    save(app, library["heat"], 0.5)
    before = [queries(p) for p in paths]
    for video_id in library.values():
        save(app, video_id, 0.5)
    assert [queries(p) for p in paths] == before


def test_progress_survives_a_moved_library_and_a_rebuilt_index(make_app, library_root, tmp_path):
    app = make_app(library_root)
    heat = next(s for s in app.get("/api/v1/shows").json if s["info"]["title"] == "Heat")["info"]["id"]
    save(app, heat, 1.5)
    models.Video.delete().execute()  # the index is rebuildable; progress is not part of it
    moved = tmp_path / "elsewhere"
    shutil.move(str(library_root), str(moved))
    app = make_app(moved)
    assert app.get(url(heat)).json["position"] == 1.5


# -- Concurrency and durability ------------------------------------------------


def test_concurrent_writes_from_threads_all_succeed(app, library):
    errors, ids = [], list(library.values())
    start = threading.Barrier(4)

    def player(n):
        start.wait()
        for i in range(40):
            response = app.put_json(url(ids[(n + i) % len(ids)]), {"position": 0.01 * i}, expect_errors=True)
            if response.status_int != 200:
                errors.append(response.status)

    threads = [threading.Thread(target=player, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(app.get("/api/v1/history").json) == len(ids)


def _player_process(db_url, video_ids, start, results):
    storage.open_database(db_url)
    start.wait()
    saved = 0
    for i in range(150):
        with models.database.connection_context():
            history.save_progress(models.HOUSEHOLD, video_ids[i % len(video_ids)], {"position": 0.001 * i})
        saved += 1
    results.put(saved)


def test_concurrent_writes_from_two_processes_all_succeed(app, library, database_url):
    """Two server processes (two nodes) on one database: a write waits for the other, never fails."""
    context = multiprocessing.get_context("spawn")
    start, results = context.Barrier(2), context.Queue()
    ids = list(library.values())
    players = [context.Process(target=_player_process, args=(database_url, ids, start, results))
               for _ in range(2)]
    for player in players:
        player.start()
    for player in players:
        player.join(60)
    assert [p.exitcode for p in players] == [0, 0]
    assert sorted(results.get(timeout=5) for _ in players) == [150, 150]


def test_an_answered_save_survives_kill_9(library_root, tmp_path, database_url):
    with running_server(library_root, str(tmp_path), db=database_url) as server:
        status, shows = server.api("/api/v1/shows?search=heat")
        heat = shows[0]["info"]["id"]
        status, saved = server.api(url(heat), "PUT", {"position": 1.75})
        assert status == 200
        os.kill(server.process.pid, signal.SIGKILL)
        server.process.wait()
    with running_server(library_root, str(tmp_path), db=database_url) as server:
        assert server.api(url(heat)) == (200, saved)
