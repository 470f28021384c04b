"""Faults, each against the real server (``python haema.py``) and its real encoder processes.

Nothing here asserts a duration: each test checks what was answered, what is left on
disk and in /proc, and what the log says. Waits have generous deadlines only so that a
broken server fails the test instead of hanging it.
"""
import contextlib
import http.client
import os
import re
import resource
import shutil
import signal
import socket
import sqlite3
import subprocess
import threading
import time

import pytest

from harness.clips import make_clip
from harness.server import SCAN_TIMEOUT, running_server

TITLES = ("Kill", "Hang", "Gone", "Changed", "Disconnect", "Idle", "Locked", "ReadOnly", "Term", "Full")
TRANSCODE = "480p_h264"  # from the 720p clips: decoding and encoding take long enough to interrupt


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    path = tmp_path_factory.mktemp("fault-clip") / "clip.mp4"
    make_clip(path, seconds=6.0, width=1280, height=720, gop=48)
    return path


def library(root, clip, titles):
    for title in titles:
        path = root / "Movies" / f"{title} (2020)" / f"{title} (2020).mp4"
        path.parent.mkdir(parents=True)
        shutil.copyfile(clip, path)
    return root


@pytest.fixture(scope="module")
def server(tmp_path_factory, clip):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)  # 1,000 connections, both ends; the server inherits it
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 4096)), hard))
    work = tmp_path_factory.mktemp("faults")
    root = library(work / "media", clip, TITLES[:8])
    (work / "db").mkdir()  # a folder of its own, to be made read-only
    with running_server(root, str(work), extra=["--job-timeout", "8", "--prefetch", "0"],
                        db=str(work / "db" / "haema.db")) as running:
        running.work = work
        running.db = work / "db" / "haema.db"
        running.ids = {s["info"]["title"]: s["info"]["id"] for s in running.api("/api/v1/shows")[1]}
        yield running


# -- helpers ---------------------------------------------------------------------


def get(server, path, headers=None):
    """(status, body) on a connection of its own."""
    host, port = server.url.rsplit("/", 1)[1].split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=60)
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def segment_path(server, title, variant, index):
    return f"/api/v1/video/{server.ids[title]}/{variant}/{index}.ts"


def children(pid):
    """Spawned processes of ``pid`` (encoders and the scan; multiprocessing's resource
    tracker excluded)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            with open(f"/proc/{entry}/stat") as stat:
                parent = int(stat.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                command = cmdline.read()
            if parent == pid and b"resource_tracker" not in command:
                found.append(int(entry))
    return found


def alive(pid):
    with contextlib.suppress(OSError):
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    return False


def wait_until(condition, what, timeout=SCAN_TIMEOUT):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.002)


def pending_files(folder):
    """Segments being written: ``<n>.ts.<worker pid>.tmp`` in the cache."""
    return [os.path.join(top, name) for top, _, names in os.walk(folder) for name in names if name.endswith(".tmp")]


class Background:
    """``function(*args)`` in a thread: ``done()`` says if it returned, ``result()`` waits for it."""

    def __init__(self, function, *args):
        self.value = None
        self.thread = threading.Thread(target=lambda: setattr(self, "value", function(*args)), daemon=True)
        self.thread.start()

    def done(self):
        return not self.thread.is_alive()

    def result(self):
        self.thread.join(120)
        return self.value


def open_fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


# -- start-up ----------------------------------------------------------------------


def test_the_first_scan_logs_ready_with_the_library_size(server):
    wait_until(lambda: "ready: 8 shows, 8 videos" in server.log(), "the ready line")
    log = server.log()
    assert "0 shows" not in log
    assert log.index("scan done:") < log.index("ready: 8 shows"), "ready was said before the scan ended"


def test_segments_go_out_by_sendfile_whole_and_by_range(server):
    """gevent's server sends the open file (streaming.SendfileHandler): the bytes are the cache file's."""
    status, whole = get(server, segment_path(server, "Idle", "original", 1))
    cached = next((server.work / "cache" / "segments" / server.ids["Idle"]).rglob("original/1.ts")).read_bytes()
    assert status == 200 and whole == cached
    status, part = get(server, segment_path(server, "Idle", "original", 1), {"Range": "bytes=1000-"})
    assert status == 206 and part == cached[1000:]


# -- workers -----------------------------------------------------------------------


def test_a_worker_killed_mid_segment_still_answers_the_request(server):
    """The worker making the segment is SIGKILLed while its file is half written."""
    cache = server.work / "cache" / "segments"
    killed = []
    for index in range(3):  # a segment can be done before the kill lands: then the next one
        answer = Background(get, server, segment_path(server, "Kill", TRANSCODE, index))
        wait_until(lambda: pending_files(cache) or answer.done(), "a segment being written or answered")
        for pending in pending_files(cache):
            pid = int(pending.rsplit(".", 2)[1])
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
        status, body = answer.result()
        assert status == 200 and body[:1] == b"\x47", (status, body[:200])  # an MPEG-TS sync byte
        if killed:
            break
    assert killed, "no segment was caught being written"
    assert "lost (pipe closed" in server.log()
    assert not pending_files(cache), "the killed worker's half-written file was left in the cache"


def test_a_hung_worker_times_out_is_replaced_and_the_request_answered(server):
    stopped = children(server.process.pid)
    for pid in stopped:  # the worker this video will be pinned to hangs (SIGSTOP), whichever it is
        os.kill(pid, signal.SIGSTOP)
    try:
        status, body = get(server, segment_path(server, "Hang", "original", 0))
    finally:
        for pid in stopped:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
    assert status == 200 and body[:1] == b"\x47"
    assert re.search(r"encoder \d lost \(no answer in 8(\.0)? s\), replacing it, retrying", server.log())
    assert sum(not alive(pid) for pid in stopped) == 1, "exactly the hung worker was replaced"


# -- the library changing under a player -----------------------------------------------


def test_a_file_deleted_while_it_plays_is_a_404_never_a_500(server):
    video = f"/api/v1/video/{server.ids['Gone']}"
    assert get(server, f"{video}/original/stream.m3u8")[0] == 200
    assert get(server, f"{video}/original/0.ts")[0] == 200
    os.remove(server.work / "media" / "Movies" / "Gone (2020)" / "Gone (2020).mp4")
    for path in ("master.m3u8", "original/stream.m3u8", "original/0.ts", "original/1.ts", f"{TRANSCODE}/1.ts"):
        assert get(server, f"{video}/{path}")[0] == 404, path


def test_a_file_replaced_while_it_plays_is_a_410_until_a_rescan_gives_the_new_version(server, clip, tmp_path):
    video = f"/api/v1/video/{server.ids['Changed']}"
    old = get(server, f"{video}/original/stream.m3u8")[1]
    shorter = tmp_path / "shorter.mp4"
    make_clip(shorter, seconds=3.0, width=1280, height=720, gop=48)
    os.replace(shorter, server.work / "media" / "Movies" / "Changed (2020)" / "Changed (2020).mp4")
    for path in ("original/stream.m3u8", "original/1.ts", f"{TRANSCODE}/2.ts"):
        assert get(server, f"{video}/{path}")[0] == 410, path
    server.api("/api/v1/library/scan", "POST")
    wait_until(lambda: get(server, f"{video}/original/stream.m3u8")[0] == 200, "the rescan")
    new = get(server, f"{video}/original/stream.m3u8")[1]
    assert new != old and get(server, f"{video}/original/0.ts")[0] == 200


# -- clients ----------------------------------------------------------------------------


def test_a_client_that_disconnects_leaks_nothing_and_the_work_is_cached(server):
    cache = server.work / "cache" / "segments"
    baseline = open_fds(server.process.pid)
    host, port = server.url.rsplit("/", 1)[1].split(":")
    for index in (0, 1):  # gone before the answer: the segment is made all the same, and kept
        with socket.create_connection((host, int(port))) as sock:
            sock.sendall(f"GET {segment_path(server, 'Disconnect', TRANSCODE, index)} HTTP/1.1\r\n"
                         f"Host: x\r\n\r\n".encode())
    wait_until(lambda: len(list(cache.rglob(f"{server.ids['Disconnect']}/*/{TRANSCODE}/*.ts"))) == 2,
               "both segments cached")
    with socket.create_connection((host, int(port))) as sock:  # gone part-way through the body
        sock.sendall(f"GET {segment_path(server, 'Disconnect', TRANSCODE, 0)} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        assert sock.recv(100)
    wait_until(lambda: open_fds(server.process.pid) <= baseline, "the server's descriptors back to where they were")
    assert not pending_files(cache)


def test_a_thousand_idle_keep_alive_connections_do_not_hold_up_others(server):
    host, port = server.url.rsplit("/", 1)[1].split(":")
    idle = []
    try:
        for _ in range(1000):
            connection = http.client.HTTPConnection(host, int(port), timeout=60)
            connection.request("GET", "/api/v1/health")
            assert connection.getresponse().read()
            idle.append(connection)
        # another client is served in full while all of them stay open
        active = http.client.HTTPConnection(host, int(port), timeout=60)
        statuses = []
        for _ in range(20):
            active.request("GET", "/api/v1/shows")
            response = active.getresponse()
            response.read()
            statuses.append(response.status)
        active.request("GET", segment_path(server, "Idle", "original", 0))
        response = active.getresponse()
        statuses.append(response.status)
        assert response.read()[:1] == b"\x47"
        active.close()
        assert statuses == [200] * 21
        for connection in idle:  # still open and served: none was dropped to make room
            connection.request("GET", "/api/v1/health")
            assert connection.getresponse().status == 200
    finally:
        for connection in idle:
            connection.close()


# -- the database -----------------------------------------------------------------------


def test_a_locked_database_still_serves_reads_and_writes_fail_clearly(server):
    video = server.ids["Locked"]
    holder = sqlite3.connect(str(server.db), isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    try:
        assert server.api("/api/v1/shows")[0] == 200
        assert server.api(f"/api/v1/video/{video}")[0] == 200
        assert get(server, f"/api/v1/video/{video}/original/0.ts")[0] == 200
        status, body = server.api(f"/api/v1/video/{video}/progress", "PUT", {"position": 1.0})
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert status == 503 and "database" in body["error"], body
    assert server.api(f"/api/v1/video/{video}/progress", "PUT", {"position": 1.0})[0] == 200


@contextlib.contextmanager
def read_only(folder):
    """``folder`` bind-mounted read-only onto itself, as a disk remounted read-only after
    errors or a ``:ro`` volume: files opened from now on cannot be written, by root
    either (whom chmod would not stop). Needs root, as in CI's container; skipped where
    it cannot be mounted."""
    done = subprocess.run(["mount", "--bind", str(folder), str(folder)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot bind-mount here: {done.stderr.decode().strip()}")
    try:
        subprocess.run(["mount", "-o", "remount,bind,ro", str(folder)], check=True, capture_output=True)
        yield
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=True)  # -l: a descriptor still open does not hold it


@pytest.fixture
def unindexed(server):
    """The ReadOnly video without its keyframe index, as before the background pass reaches
    it: playing it makes the index and tries to store it. Once no scan is running, whose
    passes would fill it in again."""
    wait_until(lambda: not server.api("/api/v1/health")[1]["scanning"], "the scan and its background passes")
    with contextlib.closing(sqlite3.connect(str(server.db))) as database, database:
        assert database.execute("UPDATE video SET keyframes = NULL WHERE id = ?", (server.ids["ReadOnly"],)).rowcount
    return server.ids["ReadOnly"]


def test_a_read_only_database_still_serves_reads_and_writes_fail_clearly(server, unindexed):
    video = f"/api/v1/video/{unindexed}"
    with read_only(server.db.parent):
        assert server.api("/api/v1/shows")[0] == 200
        assert server.api(video)[0] == 200
        for path in ("master.m3u8", "original/stream.m3u8", "original/0.ts", f"{TRANSCODE}/0.ts"):
            assert get(server, f"{video}/{path}")[0] == 200, path
        saved = server.api(f"{video}/progress", "PUT", {"position": 1.0})
        scan = server.api("/api/v1/library/scan", "POST")
        (server.work / "media" / "notes.txt").write_text("the watcher rescans")  # its scan ends in the log
        wait_until(lambda: "scan stopped: " in server.log(), "the watched folder's rescan to stop")
    for status, body in (saved, scan):
        assert status == 503 and "the database is read-only" in body["error"], body
    log = server.log()
    assert len(re.findall(r"keyframes of Movies/ReadOnly .* not stored: the database is read-only", log)) == 1, log
    assert f"PUT {video}/progress → 503 the database is read-only" in log
    assert "POST /api/v1/library/scan → 503 the database is read-only" in log
    assert "Read-only file system" in log.split("scan stopped: ", 1)[1].splitlines()[0]
    assert "Traceback" not in log, log
    assert server.api(f"{video}/progress", "PUT", {"position": 1.0})[0] == 200  # writable again


# -- the cache's disk full ------------------------------------------------------------


@pytest.fixture
def tiny_disk(tmp_path):
    """A 1 MB tmpfs (needs root, as in CI's container); skipped where it cannot be mounted."""
    mount = tmp_path / "tiny"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_full_cache_disk_serves_uncached_and_says_so_once(tmp_path, clip, tiny_disk):
    root = library(tmp_path / "media", clip, ["Full"])
    with running_server(root, str(tmp_path), extra=["--cache-path", str(tiny_disk), "--prefetch", "0"]) as server:
        server.ids = {"Full": server.api("/api/v1/shows")[1][0]["info"]["id"]}
        for variant in ("original", TRANSCODE):
            for index in range(2):
                status, body = get(server, segment_path(server, "Full", variant, index))
                assert status == 200 and body[:1] == b"\x47", (variant, index, status)
        log = server.log()
    assert log.count("the cache disk is full") == 1, log
    assert not list(tiny_disk.rglob("*.tmp"))


# -- stopping ------------------------------------------------------------------------


def test_sigterm_finishes_the_request_in_flight_then_exits_0_with_no_workers_left(tmp_path, clip):
    root = library(tmp_path / "media", clip, ["Term"])
    with running_server(root, str(tmp_path), extra=["--prefetch", "0"]) as server:
        server.ids = {"Term": server.api("/api/v1/shows")[1][0]["info"]["id"]}
        workers = children(server.process.pid)
        cache = tmp_path / "cache" / "segments"
        answer = Background(get, server, segment_path(server, "Term", TRANSCODE, 1))
        wait_until(lambda: pending_files(cache), "the segment being made")
        server.process.send_signal(signal.SIGTERM)
        status, body = answer.result()
        assert server.process.wait(30) == 0
    assert status == 200 and body[:1] == b"\x47"
    assert workers and not any(alive(pid) for pid in workers), "a worker outlived the server"


def test_ctrl_c_stops_as_sigterm_does_with_no_traceback(tmp_path, clip):
    """A terminal's Ctrl-C sends SIGINT to every process of the group: the server, its
    encoders and its watcher. It printed four KeyboardInterrupt tracebacks."""
    root = library(tmp_path / "media", clip, ["Interrupted"])
    with running_server(root, str(tmp_path), extra=["--prefetch", "0", "--watch", "true"]) as server:
        workers = children(server.process.pid)
        assert len(workers) >= 2  # the encoders and the watcher
        for pid in [server.process.pid, *workers]:
            os.kill(pid, signal.SIGINT)
        assert server.process.wait(30) == 0
    log = server.log()
    assert "SIGINT: finishing requests in flight" in log
    assert "Traceback" not in log and "KeyboardInterrupt" not in log, log
    assert not any(alive(pid) for pid in workers), "a worker outlived the server"
