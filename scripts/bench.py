#!/usr/bin/env python3
"""Haema's benchmark: what a user of a home server feels, against targets and against ffmpeg.

    python scripts/bench.py [--quick | --smoke] [--json FILE] [--keep DIR]

It generates its media (scripts/benchmedia.py), starts the real server
(``python haema.py``) on it and measures over HTTP, like a player: time to first
segment, cold seeks, sequential playback, the keyframe index of a long file, the
library scan, the API under load, memory, four players at once and (full run only) a
10-minute soak. In the same run it cuts the same intervals with one ``ffmpeg`` process
per segment, the baseline other servers give, and prints ratios. Every figure is a
median or a distribution of this run; targets come from issues 4, 5 and 7.

``--quick`` uses shorter media and fewer repetitions (under 5 minutes on 2 cores);
``--smoke`` is smaller still and only proves the suite runs (the test suite uses it:
its numbers mean nothing). Without Debian's ffmpeg the baseline figures are skipped.
"""
import argparse
import contextlib
import datetime
import fractions
import http.client
import json
import os
import platform
import random
import re
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import av  # noqa: E402

import benchmedia  # noqa: E402
from haema import keyframe_index  # noqa: E402

FFMPEG = shutil.which("ffmpeg")
WORKERS = max(1, os.cpu_count() or 1)  # the server's default, passed explicitly
PAGE = os.sysconf("SC_PAGE_SIZE")
BUFFER_GOAL = 30.0  # seconds a player buffers ahead (hls.js maxBufferLength)
WAITED = 0.05  # a segment answered slower than this was made for the request, not ready
IDLE_WINDOW = 0.5  # seconds the server must stay idle before a cold measurement

MODES = {
    # clip: seconds of each encoded clip; copies: clips per playback file; feature: copies
    # of a 4 s clip in the long file; reps: repetitions of each latency; rounds: of the
    # codec speed step. The smoke run's pictures are about the smallest with a 720p
    # variant, and its long GOP is a short one: it proves every step runs, in a test.
    "full": dict(clip=8, long_gop=10, copies=15, feature=1350, files=1000, reps=5, api=20, players=120,
                 soak=600, rounds=3, size=(1920, 1080)),
    "quick": dict(clip=8, long_gop=10, copies=4, feature=450, files=1000, reps=2, api=8, players=16,
                  soak=0, rounds=3, size=(1920, 1080)),
    "smoke": dict(clip=2, long_gop=2, copies=2, feature=15, files=20, reps=1, api=1, players=4,
                  soak=0, rounds=1, size=(1296, 728)),
}


# ---------------------------------------------------------------------------
# Figures: every one is in the table and the JSON, measured or marked skipped


def _at_most(limit):
    return lambda v: v <= limit


def _at_least(limit):
    return lambda v: v >= limit


FIGURES = [
    # key, what, unit, target text, check
    ("machine_decode_1080p", "this machine: PyAV decodes the 1080p bench media", "fps", "", None),
    ("machine_encode_720p", "this machine: libx264 veryfast encodes it at 720p", "fps", "", None),
    ("machine_decode_1080p_testsrc2", "this machine: PyAV decodes FFmpeg's testsrc2 at 1080p", "fps", "", None),
    ("machine_encode_720p_testsrc2", "this machine: libx264 veryfast encodes it at 720p", "fps", "", None),
    ("first_segment_copy", "first segment, copy (master+stream+segment 0)", "s", "≤ 0.10", _at_most(0.10)),
    ("first_segment_720p", "first segment, 720p transcode", "s", "≤ 1.0", _at_most(1.0)),
    ("first_segment_copy_ffmpeg", "  ffmpeg baseline, copy segment 0", "s", "", None),
    ("first_segment_720p_ffmpeg", "  ffmpeg baseline, 720p segment 0", "s", "", None),
    ("first_segment_long_mp4", "first segment, copy, of a cold long file (MP4)", "s", "≤ 0.10", _at_most(0.10)),
    ("first_segment_long_mkv", "first segment, copy, of a cold long file (MKV)", "s", "≤ 0.10", _at_most(0.10)),
    ("copy_segment", "copy segment from the middle, over HTTP", "s", "", None),
    ("copy_segment_limit", "  the limit: PyAV reads its packets and muxes them to a null output", "s", "", None),
    ("copy_segment_send", "  the limit's sending: the same segment fetched again, from the cache", "s", "", None),
    ("copy_segment_vs_limit", "  Haema / (limit + sending), over HTTP", "×", "≤ 3",
     _at_most(3.0)),
    ("copy_segment_cpu", "copy segment from the middle, the workers' CPU time", "s", "", None),
    ("copy_segment_cpu_limit", "  the limit's CPU time", "s", "", None),
    ("copy_segment_cpu_vs_limit", "  Haema / limit, CPU", "×", "≤ 3", _at_most(3.0)),
    ("copy_segment_cpu_ts", "  PyAV muxing the same packets into an MPEG-TS file instead, CPU", "s", "", None),
    ("copy_segment_cpu_vs_ts", "  Haema / that, CPU", "×", "", None),
    ("copy_busy_cpu", "copy segments back to back (a busy copy worker), workers' CPU per segment", "s", "", None),
    ("copy_busy_cpu_limit", "  the limit back to back, CPU", "s", "", None),
    ("copy_busy_cpu_vs_limit", "  Haema / limit, CPU, back to back", "×", "≤ 3", _at_most(3.0)),
    ("seek_copy", "cold seek to the middle, copy", "s", "", None),
    ("seek_copy_ffmpeg", "  ffmpeg baseline, same interval", "s", "", None),
    ("seek_720p", "cold seek to the middle, 720p, 2 s GOP", "s", "≤ 1.0", _at_most(1.0)),
    ("seek_720p_ffmpeg", "  ffmpeg baseline, same interval", "s", "", None),
    ("seek_720p_vs_ffmpeg", "  Haema / ffmpeg", "×", "≤ 1.0", _at_most(1.0)),
    ("seek_720p_gop10", "cold seek, 720p, last piece of a 10 s GOP", "s", "≤ 2.0", _at_most(2.0)),
    ("seek_720p_gop10_ffmpeg", "  ffmpeg baseline, same interval", "s", "", None),
    ("seek_720p_gop10_vs_ffmpeg", "  Haema / ffmpeg", "×", "≤ 1.0", _at_most(1.0)),
    ("seek_720p_while_prefetching", "seek, 720p, right after segment 0 (prefetch running)", "s", "", None),
    ("playback_720p_realtime", "sequential 720p playback, realtime factor", "×", "≥ 4", _at_least(4.0)),
    ("playback_720p_ffmpeg_realtime", "  ffmpeg per segment, realtime factor", "×", "", None),
    ("playback_720p_vs_ffmpeg", "  Haema / ffmpeg throughput", "×", "≥ 1.5", _at_least(1.5)),
    ("playback_720p_codec_bound", "  the codecs alone on this media, realtime factor", "×", "", None),
    ("playback_720p_waited", "  segment requests that waited (> 50 ms)", "%", "", None),
    ("playback_720p_wait_p50", "  median segment request time", "s", "", None),
    ("playback_720p_gop10_realtime", "sequential 720p playback, 10 s GOP, realtime factor", "×", "", None),
    ("playback_720p_gop10_ffmpeg_realtime", "  ffmpeg per segment, realtime factor", "×", "", None),
    ("playback_720p_gop10_vs_ffmpeg", "  Haema / ffmpeg throughput", "×", "", None),
    ("playback_720p_testsrc2_realtime", "sequential 720p playback, testsrc2 picture, realtime factor", "×", "≥ 4",
     _at_least(4.0)),
    ("playback_720p_testsrc2_ffmpeg_realtime", "  ffmpeg per segment, realtime factor", "×", "", None),
    ("playback_720p_testsrc2_vs_ffmpeg", "  Haema / ffmpeg throughput", "×", "≥ 1.5", _at_least(1.5)),
    ("playback_720p_testsrc2_codec_bound", "  the codecs alone on this picture, realtime factor", "×", "", None),
    ("long_index_mp4", "long file, keyframe index (MP4, read_keyframes)", "s", "", None),
    ("long_index_mkv", "long file, keyframe index (MKV, read_keyframes)", "s", "", None),
    ("long_playlist_mp4", "long file, first master+media playlist over HTTP (MP4)", "s", "", None),
    ("long_playlist_mkv", "long file, first master+media playlist over HTTP (MKV)", "s", "", None),
    ("long_index_playlist_mp4", "long file, index + first playlist (MP4)", "s", "≤ 0.5", _at_most(0.5)),
    ("long_index_playlist_mkv", "long file, index + first playlist (MKV)", "s", "≤ 0.5", _at_most(0.5)),
    ("long_scan_packets_mp4", "long file, packet-scan fallback (MP4)", "s", "", None),
    ("long_scan_packets_mkv", "long file, packet-scan fallback (MKV)", "s", "", None),
    ("scan_cold", "library scan, cold", "s", "≤ 10", _at_most(10.0)),
    ("scan_rescan", "library rescan, no change", "s", "≤ 1", _at_most(1.0)),
    ("scan_background", "  then keyframes + thumbnails in the background", "s", "", None),
    ("api_shows_p50", "GET /api/v1/shows, 50 clients, p50", "ms", "", None),
    ("api_shows_p95", "GET /api/v1/shows, 50 clients, p95", "ms", "≤ 20", _at_most(20.0)),
    ("api_shows_p99", "GET /api/v1/shows, 50 clients, p99", "ms", "", None),
    ("api_search_p50", "GET /api/v1/shows?search=, 50 clients, p50", "ms", "", None),
    ("api_search_p95", "GET /api/v1/shows?search=, 50 clients, p95", "ms", "≤ 20", _at_most(20.0)),
    ("api_search_p99", "GET /api/v1/shows?search=, 50 clients, p99", "ms", "", None),
    ("api_requests_per_s", "  requests per second under that load", "1/s", "", None),
    ("api_shows_alone", "  GET /api/v1/shows, one client, no transcode, p50", "ms", "", None),
    ("api_search_alone", "  search, one client, no transcode, p50", "ms", "", None),
    ("rss_idle", "server RSS, idle after the scan", "MB", "≤ 80", _at_most(80.0)),
    ("rss_worker_busy", "encoder worker RSS, busy at 720p (max)", "MB", "≤ 150", _at_most(150.0)),
    ("rss_server_busy", "  server RSS during 720p playback (max)", "MB", "", None),
    ("players4_480p_slowest", "4 players at 480p, slowest one's realtime factor", "×", "≥ 1.0", _at_least(1.0)),
    ("players4_480p_stalls", "4 players at 480p, stalls (30 s buffer, 1× playback)", "", "0", lambda v: v == 0),
    ("soak_rss_growth", "10-minute soak of 4 players, RSS growth (server + workers)", "MB", "≤ 10 (noise)",
     _at_most(10.0)),
    ("soak_stalls", "  stalls during the soak", "", "0", lambda v: v == 0),
]
FIGURE_KEYS = [f[0] for f in FIGURES]


class Results:
    def __init__(self):
        self.values, self.notes = {}, {}

    def set(self, key, value, note=None):
        assert key in FIGURE_KEYS, key
        self.values[key] = value
        if note:
            self.notes[key] = note

    def skip(self, keys, why):
        for key in keys:
            self.values.setdefault(key, None)
            self.notes.setdefault(key, why)

    def rows(self):
        for key, what, unit, target, check in FIGURES:
            value = self.values.get(key)
            met = None if value is None or check is None else bool(check(value))
            yield {"key": key, "figure": what.strip(), "value": value, "unit": unit, "target": target or None,
                   "met": met, "note": self.notes.get(key, "not measured" if value is None else None)}

    def table(self):
        lines = [f"{'figure':<62} {'value':>10} {'unit':<4} {'target':<13} met?"]
        for (key, what, *_), row in zip(FIGURES, self.rows()):
            value = "—" if row["value"] is None else _fmt(row["value"])
            met = {True: "yes", False: "NO", None: ""}[row["met"]]
            if row["value"] is None:
                met = row["note"] or ""
            lines.append(f"{what:<62} {value:>10} {row['unit']:<4} {row['target'] or '':<13} {met}")
        return "\n".join(lines)


def _fmt(value):
    if isinstance(value, int):
        return str(value)
    if abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    if abs(value) >= 1:
        return f"{value:.2f}"
    return f"{value:.3f}"


# ---------------------------------------------------------------------------
# The server, over HTTP


class Client:
    """One keep-alive connection, like one player; ``get`` returns (status, body, seconds)."""

    def __init__(self, port, timeout=300):
        self.port, self.timeout = port, timeout
        self.connection = None

    def get(self, path, method="GET"):
        for attempt in (1, 2):
            if self.connection is None:
                self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
            started = time.perf_counter()
            try:
                self.connection.request(method, path)
                response = self.connection.getresponse()
                body = response.read()
                return response.status, body, time.perf_counter() - started
            except (http.client.HTTPException, ConnectionError):
                self.connection.close()
                self.connection = None
                if attempt == 2:
                    raise

    def json(self, path, method="GET"):
        status, body, _ = self.get(path, method)
        if status >= 400:
            raise RuntimeError(f"{method} {path} → {status}: {body[:200]!r}")
        return json.loads(body)

    def ok(self, path):
        status, body, seconds = self.get(path)
        if status != 200:
            raise RuntimeError(f"GET {path} → {status}: {body[:300]!r}")
        return body, seconds

    def close(self):
        if self.connection is not None:
            self.connection.close()
            self.connection = None


class Server:
    """``python haema.py`` as a subprocess, with its own database and no segment cache."""

    def __init__(self, root, work, log, extra=(), name="server"):
        self.root, self.work, self.log = root, work, log
        self.port = _free_port()
        self.db = os.path.join(work, "haema.db")
        self.log_path = os.path.join(work, f"{name}.log")
        command = [sys.executable, "haema.py", "-t", root, "-p", str(self.port), "--db", self.db,
                   "--cache-path", os.path.join(work, "cache"), "--cache", "false", "--workers", str(WORKERS),
                   "--scan-on-start", "false", "--log-level", "WARNING", "--auth", "false",  # measures media, on loopback
                   *extra]
        with open(self.log_path, "wb") as out:
            self.process = subprocess.Popen(command, cwd=REPO, stdout=out, stderr=subprocess.STDOUT)
        self.client = Client(self.port)
        self.hung = 0  # requests never answered (see scan)
        self._wait_health()

    def _wait_health(self, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"haema exited with {self.process.returncode}:\n{self.tail()}")
            try:
                if self.client.get("/api/v1/health")[0] == 200:
                    return
            except OSError:
                self.client.connection = None
            time.sleep(0.05)
        raise RuntimeError(f"haema did not answer /api/v1/health in {timeout} s:\n{self.tail()}")

    def tail(self):
        with open(self.log_path, encoding="utf-8", errors="replace") as log:
            return log.read()[-3000:]

    def scan(self, timeout=600):
        """POST a scan and wait until its report says it finished.

        Returns the scan's own duration (from its report, so a slow status poll does not
        count), the seconds until the client saw it finished, and the report.

        A request made while the scan thread holds the database lock can go unanswered
        for ever (see the README's Performance section); such a poll is counted in
        ``hung`` and retried on a new connection.
        """
        started = time.perf_counter()
        status, body, _ = self.client.get("/api/v1/library/scan", "POST")
        assert status == 202, (status, body)
        deadline = time.monotonic() + timeout
        poll = Client(self.port, timeout=3)
        while time.monotonic() < deadline:
            try:
                report = poll.json("/api/v1/library/scan")
            except TimeoutError:
                self.hung += 1
                poll.close()
                poll = Client(self.port, timeout=3)
                continue
            if not report["running"] and report["finished_at"] and report["started_at"] and \
                    _iso(report["finished_at"]) >= _iso(report["started_at"]) and \
                    _iso(report["started_at"]).timestamp() >= self._posted_after(started):
                poll.close()
                took = (_iso(report["finished_at"]) - _iso(report["started_at"])).total_seconds()
                return took, time.perf_counter() - started, report
            time.sleep(0.02)
        raise RuntimeError("the scan did not finish in time")

    @staticmethod
    def _posted_after(perf_started):
        """Wall-clock time a little before the POST, to tell this scan's report from the last one's."""
        return time.time() - (time.perf_counter() - perf_started) - 1.0

    def wait_background(self, timeout=900):
        """Wait for the keyframe and thumbnail fills that follow a scan: every video has
        keyframes and the server's processes stop using CPU."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._pending_keyframes() == 0:
                break
            time.sleep(0.2)
        self.wait_idle(deadline - time.monotonic())

    def _pending_keyframes(self):
        try:
            with contextlib.closing(sqlite3.connect(f"file:{self.db}?mode=ro", uri=True, timeout=5)) as db:
                return db.execute("SELECT count(*) FROM video WHERE keyframes IS NULL").fetchone()[0]
        except sqlite3.Error:
            return -1

    def wait_idle(self, timeout=120, window=IDLE_WINDOW, cpu=0.03):
        """Until the server and its workers use under ``cpu`` of one core for ``window`` s."""
        deadline = time.monotonic() + max(1.0, timeout)
        last = self.cpu_seconds()
        while time.monotonic() < deadline:
            time.sleep(window)
            now = self.cpu_seconds()
            if now - last < cpu * window:
                return True
            last = now
        return False

    def pids(self):
        return [self.process.pid] + self.workers()

    def workers(self):
        """The encoder processes: children of the server (spawn's resource tracker excluded)."""
        found = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
                if int(fields[1]) != self.process.pid:
                    continue
                with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                    if b"resource_tracker" in cmdline.read():
                        continue
                found.append(int(entry))
            except (OSError, IndexError, ValueError):
                continue
        return sorted(found)

    def cpu_seconds(self, pids=None):
        """CPU time of ``pids`` (default: the server and its workers)."""
        return sum(cpu_seconds(pid) or 0 for pid in (self.pids() if pids is None else pids))

    def stop(self):
        self.client.close()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def cpu_seconds(pid):
    """CPU time of every thread of ``pid`` so far (None once it is gone), from schedstat's
    nanoseconds: /proc's stat counts 10 ms ticks, longer than a copy segment takes, and a
    process's own schedstat is only its first thread's."""
    total = 0
    try:
        for thread in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{thread}/schedstat") as schedstat:
                total += int(schedstat.read().split()[0])
    except OSError:
        return None
    return total / 1e9


def rss_mb(pid):
    try:
        with open(f"/proc/{pid}/statm") as statm:
            return int(statm.read().split()[1]) * PAGE / (1 << 20)
    except (OSError, IndexError):
        return None


class RssSampler(threading.Thread):
    """Largest RSS seen for the server and for any one worker while it runs."""

    def __init__(self, server, every=0.2):
        super().__init__(daemon=True)
        self.server, self.every = server, every
        self.server_max = self.worker_max = 0.0
        self.halt = threading.Event()

    def run(self):
        while not self.halt.is_set():
            self.server_max = max(self.server_max, rss_mb(self.server.process.pid) or 0)
            for pid in self.server.workers():
                self.worker_max = max(self.worker_max, rss_mb(pid) or 0)
            self.halt.wait(self.every)

    def stop(self):
        self.halt.set()
        self.join()


def _free_port():
    import socket
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _iso(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


# ---------------------------------------------------------------------------
# Playlists


class Stream:
    """A video's variant as a player sees it: segment URLs and their times.

    If the master playlist has separate audio renditions, ``audio`` is the default one,
    and ``fetch`` gets the audio segments of the same time along with each video segment.
    """

    def __init__(self, client, base, audio=None):
        self.base = base
        text = client.ok(f"{base}/stream.m3u8")[0].decode()
        self.durations = [float(m) for m in re.findall(r"#EXTINF:([0-9.]+)", text)]
        self.starts = [sum(self.durations[:i]) for i in range(len(self.durations))]
        self.uris = [line for line in text.splitlines() if line and not line.startswith("#")]
        self.audio = audio
        self.audio_done = set()

    def url(self, index):
        uri = self.uris[index]
        return uri if uri.startswith("/") else f"{self.base}/{uri}"

    def fetch(self, client, index, again=False):
        """GET segment ``index`` (and its audio); returns the seconds it took. ``again``
        fetches audio segments already fetched with an earlier video segment as well."""
        seconds = client.ok(self.url(index))[1]
        if self.audio is not None:
            start, end = self.starts[index], self.starts[index] + self.durations[index]
            for i, (a_start, a_length) in enumerate(zip(self.audio.starts, self.audio.durations)):
                if a_start < end and a_start + a_length > start and (again or i not in self.audio_done):
                    seconds += client.ok(self.audio.url(i))[1]
                    self.audio_done.add(i)
        return seconds

    @property
    def duration(self):
        return sum(self.durations)

    def __len__(self):
        return len(self.durations)


def open_video(client, video_id, variant):
    """master → media playlist(s), as a player starts; returns (Stream, seconds)."""
    started = time.perf_counter()
    base = f"/api/v1/video/{video_id}"
    master = client.ok(f"{base}/master.m3u8")[0].decode()
    names = [line.split("/")[0] for line in master.splitlines() if line and not line.startswith("#")]
    if variant not in names:
        raise RuntimeError(f"variant {variant} not in the master playlist ({names})")
    audio = None
    renditions = [line for line in master.splitlines() if line.startswith("#EXT-X-MEDIA:TYPE=AUDIO") and "URI=" in line]
    if renditions:
        chosen = next((r for r in renditions if "DEFAULT=YES" in r), renditions[0])
        uri = re.search(r'URI="([^"]+)"', chosen).group(1)
        audio = Stream(client, f"{base}/{uri.rsplit('/', 1)[0]}")
    stream = Stream(client, f"{base}/{variant}", audio)
    return stream, time.perf_counter() - started


# ---------------------------------------------------------------------------
# The ffmpeg-per-segment baseline


def ffmpeg_segment(source, start, duration, variant, out_dir):
    """One ``ffmpeg -ss S -t D -i src … -f mpegts`` process, as other servers run per segment."""
    target = os.path.join(out_dir, "baseline.ts")
    codec = ["-c", "copy"] if variant == "original" else \
        ["-c:v", "libx264", "-preset", "veryfast", "-s", _size(variant), "-c:a", "aac"]
    command = [FFMPEG, "-hide_banner", "-loglevel", "error", "-nostdin", "-y", "-ss", f"{start:.6f}",
               "-t", f"{duration:.6f}", "-i", source, *codec, "-f", "mpegts", target]
    started = time.perf_counter()
    subprocess.run(command, check=True)
    return time.perf_counter() - started


def _size(variant):
    height = int(variant.split("p")[0])
    return f"{round(height * 16 / 9 / 2) * 2}x{height}"


# ---------------------------------------------------------------------------
# The benchmark


class Bench:
    def __init__(self, mode, keep=None, log=print):
        self.mode, self.p = mode, MODES[mode]
        self.log = log
        self.results = Results()
        self.work = keep or tempfile.mkdtemp(prefix="haema-bench-")
        self.keep = keep is not None
        self.root = os.path.join(self.work, "library")
        self.media = None
        self.server = None
        self.ids = {}

    # -- set up --------------------------------------------------------------

    def prepare(self):
        p = self.p
        if os.path.isdir(self.root):
            shutil.rmtree(self.root)
        os.makedirs(self.root)
        self.log(f"generating media in {self.work}")
        self.media = benchmedia.build_library(
            self.root, os.path.join(self.work, "media"), p["files"], size=p["size"], clip_seconds=p["clip"],
            copies=p["copies"], long_gop_seconds=p["long_gop"], feature_copies=p["feature"],
            extra=["first copy", "first 720p", "seek", "prefetch seek", "sequential", "load"], reps=p["reps"],
            players=4, log=self.log)
        shutil.rmtree(os.path.join(self.work, "cache"), ignore_errors=True)
        for name in ("haema.db", "haema.db-wal", "haema.db-shm"):
            with contextlib.suppress(FileNotFoundError):
                os.remove(os.path.join(self.work, name))

    def media_facts(self):
        return self.media["facts"] if self.media else None

    def start(self):
        self.server = Server(self.root, self.work, self.log)
        self.client = self.server.client

    def video_ids(self):
        """``{relative path: video id}`` from the listing, as a client finds them."""
        shows = self.client.json("/api/v1/shows")
        titles = {}
        for show in shows:
            if show["type"] == "movie":
                titles[show["info"]["title"]] = show["info"]["id"]
        return titles

    def id_of(self, relpath):
        title = os.path.basename(os.path.dirname(relpath)).rsplit(" (", 1)[0]
        if title not in self.ids:
            raise RuntimeError(f"{title!r} is not among the movies the server lists: "
                               f"{sorted(t for t in self.ids if t.startswith('Bench'))}")
        return self.ids[title]

    # -- figures -------------------------------------------------------------

    def scan(self):
        seconds, seen, report = self.server.scan()
        self.log(f"  scanned {report['files']} files ({report['added']} added, {len(report['skipped'])} skipped)"
                 f" in {seconds:.2f} s")
        if report["files"] != self.media["files"] or report["skipped"]:
            raise RuntimeError(f"unexpected scan report: {report}")
        self.results.set("scan_cold", seconds, f"{report['files']} files; client saw it end after {seen:.2f} s; "
                                               f"{self.server.hung} status requests hung")
        started = time.perf_counter()
        self.server.wait_background()
        self.results.set("scan_background", time.perf_counter() - started)
        hung = self.server.hung
        seconds, seen, report = self.server.scan()
        self.results.set("scan_rescan", seconds, f"client saw it end after {seen:.2f} s; "
                                                 f"{self.server.hung - hung} status requests hung")
        self.server.wait_background()
        self.ids = self.video_ids()
        self.results.set("rss_idle", rss_mb(self.server.process.pid))

    def warm_workers(self):
        """Start every encoder process with a tiny job, so figures do not include process start-up.

        Each new video goes to the worker with the fewest videos in play, so one small
        video per worker reaches them all."""
        shows = self.client.json("/api/v1/shows")
        ids = [s["info"]["id"] for s in shows if s["type"] == "movie" and not s["info"]["title"].startswith("Bench")]
        for video_id in ids[:WORKERS]:
            stream, _ = open_video(self.client, video_id, "original")
            stream.fetch(self.client, 0)
        self.server.wait_idle()

    def machine(self):
        """What one process gets from the codecs on each picture: the floor under every transcode figure.

        The issue's reference for this machine class is about 380 fps decoding 1080p H.264 and
        250 fps encoding 720p; a harder picture (film grain, motion) costs more of both.
        Best of three, as these are rates of the machine, not of Haema."""
        rounds = self.p["rounds"]
        for source, suffix in (("playback", ""), ("testsrc2", "_testsrc2")):
            decoded, encoded = [], []
            for _ in range(rounds):
                frames, fps = self._decode_rate(self.media["sources"][source])
                decoded.append(fps)
                small = [frame.reformat(width=1280, height=720) for frame in frames]
                del frames
                fps, bitrate = self._encode_rate(small)
                encoded.append(fps)
            self.results.set("machine_decode_1080p" + suffix, max(decoded), f"{len(small)} frames, best of {rounds}")
            self.results.set("machine_encode_720p" + suffix, max(encoded),
                             f"CRF 23, {bitrate:.1f} Mbit/s, best of {rounds}")

    @staticmethod
    def _decode_rate(path):
        with av.open(path) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            started = time.perf_counter()
            frames = [frame for frame, _ in zip(container.decode(stream), range(8 * benchmedia.FPS))]
            return frames, len(frames) / (time.perf_counter() - started)

    def _encode_rate(self, frames):
        target = os.path.join(self.work, "machine.ts")
        with av.open(target, "w", format="mpegts") as out:
            encoder = out.add_stream("libx264", rate=benchmedia.FPS)
            encoder.width, encoder.height, encoder.pix_fmt = 1280, 720, "yuv420p"
            encoder.options = {"preset": "veryfast", "crf": "23"}
            started = time.perf_counter()
            for number, frame in enumerate(frames):
                frame.pts, frame.time_base = number, fractions.Fraction(1, benchmedia.FPS)
                out.mux(encoder.encode(frame))
            out.mux(encoder.encode(None))
            seconds = time.perf_counter() - started
        bitrate = os.path.getsize(target) * 8 * benchmedia.FPS / len(frames) / 1e6
        os.remove(target)
        return len(frames) / seconds, bitrate

    def first_segment(self):
        """Each first segment, then ffmpeg's on the same interval once the server is idle
        again: alternating, so a change in the shared machine's speed touches both alike."""
        for variant, key, paths in (("original", "first_segment_copy", self.media["first copy"]),
                                    ("720p_h264", "first_segment_720p", self.media["first 720p"])):
            times, base = [], []
            for relpath in paths:
                self.server.wait_idle()
                started = time.perf_counter()
                stream, _ = open_video(self.client, self.id_of(relpath), variant)
                stream.fetch(self.client, 0)
                times.append(time.perf_counter() - started)
                if FFMPEG:
                    self.server.wait_idle()  # the worker makes the next segments ahead meanwhile
                    base.append(ffmpeg_segment(self.media["sources"]["playback"], 0, stream.durations[0], variant,
                                               self.work))
            self.results.set(key, statistics.median(times), _spread(times))
            if FFMPEG:
                self.results.set(key + "_ffmpeg", statistics.median(base), _spread(base))

    def copy_limit(self):
        """Copy segments from the middle against what they cannot go below: PyAV seeking,
        reading the segment's packets and muxing them into FFmpeg's null muxer, in this
        process with the file already open, the bytes then sent by the same server and
        client (the same segment fetched again, from the cache).

        The server is idle between segments, and each run of the limit follows as long
        an idle pause: a viewer's request comes after seconds of idle, and an idle CPU
        has lost its caches (here that doubles the limit's CPU, 1.6 → 3.2 ms). They come
        from a second server on the same index with the segment cache on, as a viewer's
        server has it (the benchmark's own has it off, so every figure makes its segment):
        the cold fetch writes the segment into the cache, and fetching it again sends it
        from there."""
        server = Server(self.root, self.work, self.log, extra=["--cache", "true"], name="server-cache-on")
        try:
            stream, _ = open_video(server.client, self.id_of(self.media["seek"]), "original")
            stream.fetch(server.client, len(stream) - 1)  # the file opened by its worker, as for a viewer
            middle = len(stream) // 2
            indexes = sorted({min(len(stream) - 1, max(0, middle + k)) for k in range(2, -3, -1)}, reverse=True)
            times, cpu, sending = [], [], []
            for index in indexes:
                server.wait_idle()
                workers = server.workers()
                before = server.cpu_seconds(workers)
                times.append(stream.fetch(server.client, index))
                cpu.append(server.cpu_seconds(workers) - before)
                server.wait_idle()
                sending.append(stream.fetch(server.client, index, again=True))
        finally:
            server.stop()
        limits, into_ts = [], []
        with av.open(self.media["sources"]["playback"]) as source:
            for index in indexes:
                time.sleep(IDLE_WINDOW)
                limits.append(_copy_limit(source, stream.starts[index], stream.durations[index]))
                time.sleep(IDLE_WINDOW)
                into_ts.append(_copy_limit(source, stream.starts[index], stream.durations[index],
                                           "mpegts", os.path.join(self.work, "limit.ts"))[1])
        made, send = statistics.median(wall for wall, _ in limits), statistics.median(sending)
        haema = statistics.median(times)
        self.results.set("copy_segment", haema, _spread(times) + f"; segments {indexes}")
        self.results.set("copy_segment_limit", made, _spread([wall for wall, _ in limits]))
        self.results.set("copy_segment_send", send, _spread(sending))
        self.results.set("copy_segment_vs_limit", haema / (made + send))
        haema, limit = statistics.median(cpu), statistics.median(used for _, used in limits)
        self.results.set("copy_segment_cpu", haema, _spread(cpu))
        self.results.set("copy_segment_cpu_limit", limit, _spread([used for _, used in limits]))
        self.results.set("copy_segment_cpu_vs_limit", haema / limit)
        self.results.set("copy_segment_cpu_ts", statistics.median(into_ts), _spread(into_ts))
        self.results.set("copy_segment_cpu_vs_ts", haema / statistics.median(into_ts))

    def copy_busy(self):
        """Copy segments as a busy copy worker makes them, one request right after the
        other (many viewers: 40 copy players ask for 10 segments a second), against the
        limit back to back. The cold figures above carry what an idle CPU costs both
        sides on its first work, which on this machine swings from hour to hour (the
        limit's 2 ms became 17 after half a second of idle); back to back, each side
        pays only its own work. Each segment is made once before the measured rounds."""
        stream, _ = open_video(self.client, self.id_of(self.media["seek"]), "original")
        indexes = list(range(1, len(stream) - 1)) or list(range(len(stream)))  # not the shorter last
        rounds = 3
        self.server.wait_idle()
        workers = self.server.workers()
        for index in indexes:
            stream.fetch(self.client, index)
        before = self.server.cpu_seconds(workers)
        for _ in range(rounds):
            for index in indexes:
                stream.fetch(self.client, index)
        haema = (self.server.cpu_seconds(workers) - before) / (rounds * len(indexes))
        with av.open(self.media["sources"]["playback"]) as source:
            def limit_round():
                return sum(_copy_limit(source, stream.starts[i], stream.durations[i])[1] for i in indexes)
            limit_round()
            limit = sum(limit_round() for _ in range(rounds)) / (rounds * len(indexes))
        note = f"segments {indexes[0]}-{indexes[-1]}, {rounds} rounds"
        self.results.set("copy_busy_cpu", haema, note)
        self.results.set("copy_busy_cpu_limit", limit, note)
        self.results.set("copy_busy_cpu_vs_limit", haema / limit)

    def seeks(self):
        """Cold seeks, each followed by ffmpeg on the same interval (as for the first segment)."""
        reps = self.p["reps"]
        playback = self.id_of(self.media["seek"])
        longgop = self.id_of(self.media["longgop"])
        for variant, key, video_id, source, pick in (
                ("original", "seek_copy", playback, "playback", _middle),
                ("720p_h264", "seek_720p", playback, "playback", _middle),
                ("720p_h264", "seek_720p_gop10", longgop, "longgop", self._last_pieces(longgop))):
            stream, _ = open_video(self.client, video_id, variant)
            indexes = pick(stream, reps)
            times, base = [], []
            for index in indexes:  # backwards, so no segment was prefetched by the one before
                self.server.wait_idle()
                times.append(stream.fetch(self.client, index))
                if FFMPEG:
                    self.server.wait_idle()
                    base.append(ffmpeg_segment(self.media["sources"][source], stream.starts[index],
                                               stream.durations[index], variant, self.work))
            self.results.set(key, statistics.median(times), _spread(times) + f"; segments {indexes}")
            if FFMPEG:
                self.results.set(key + "_ffmpeg", statistics.median(base), _spread(base))
                if key + "_vs_ffmpeg" in FIGURE_KEYS:
                    self.results.set(key + "_vs_ffmpeg", statistics.median(times) / statistics.median(base))
        # a seek while the worker is making segments ahead of the player
        self.server.wait_idle()
        stream, _ = open_video(self.client, self.id_of(self.media["prefetch seek"]), "720p_h264")
        stream.fetch(self.client, 0)
        self.results.set("seek_720p_while_prefetching", stream.fetch(self.client, len(stream) // 2))

    def _last_pieces(self, video_id):
        """The transcoded pieces that start furthest after their keyframe (most to decode and drop)."""
        copy = Stream(self.client, f"/api/v1/video/{video_id}/original")

        def pick(stream, reps):
            keyframes = copy.starts
            lag = [(start - max(k for k in keyframes if k <= start + 1e-6), i) for i, start in enumerate(stream.starts)]
            worst = max(l for l, _ in lag)
            candidates = [i for l, i in lag if l > worst - 0.05]
            middle = [i for i in candidates if 0 < i < len(stream) - 1] or candidates
            middle.sort(key=lambda i: abs(i - len(stream) / 2))
            return sorted(middle[:reps], reverse=True)
        return pick

    def playback(self):
        """Fetch every 720p segment in order, as fast as they come (a player with no buffer
        goal), on the 2 s-GOP file, the 10 s-GOP one and the test pattern; ffmpeg per
        segment likewise."""
        for key, media, source in (("playback_720p", "sequential", "playback"),
                                   ("playback_720p_gop10", "sequential longgop", "longgop"),
                                   ("playback_720p_testsrc2", "sequential testsrc2", "testsrc2")):
            self.server.wait_idle()
            client = Client(self.server.port)
            stream, _ = open_video(client, self.id_of(self.media[media]), "720p_h264")
            sampler = RssSampler(self.server)
            sampler.start()
            times = []
            started = time.perf_counter()
            for index in range(len(stream)):
                times.append(stream.fetch(client, index))
            wall = time.perf_counter() - started
            sampler.stop()
            client.close()
            self.results.set(key + "_realtime", stream.duration / wall,
                             f"{stream.duration:.0f} s of video in {wall:.1f} s")
            if key == "playback_720p":
                self.results.set("playback_720p_waited", 100.0 * sum(t > WAITED for t in times) / len(times))
                self.results.set("playback_720p_wait_p50", statistics.median(times))
                self.results.set("rss_worker_busy", sampler.worker_max)
                self.results.set("rss_server_busy", sampler.server_max)
            if FFMPEG:
                started = time.perf_counter()
                for index in range(len(stream)):
                    ffmpeg_segment(self.media["sources"][source], stream.starts[index], stream.durations[index],
                                   "720p_h264", self.work)
                base = stream.duration / (time.perf_counter() - started)
                self.results.set(key + "_ffmpeg_realtime", base)
                self.results.set(key + "_vs_ffmpeg", (stream.duration / wall) / base)
        for suffix in ("", "_testsrc2"):
            decode, encode = (self.results.values[k + suffix] for k in ("machine_decode_1080p", "machine_encode_720p"))
            self.results.set(f"playback_720p{suffix}_codec_bound", 1 / (1 / decode + 1 / encode) / benchmedia.FPS,
                             "if decoding and encoding each frame took turns")

    def long_file(self):
        reps = max(1, self.p["reps"])
        minutes = self.media["facts"]["feature_minutes"]
        for kind in ("mp4", "mkv"):
            path = self.media["feature_sources"][kind]
            times = []
            for _ in range(reps):
                started = time.perf_counter()
                keyframes = keyframe_index.read_keyframes(path)
                times.append(time.perf_counter() - started)
            index = statistics.median(times)
            self.results.set(f"long_index_{kind}", index, f"{minutes:g} min, {len(keyframes.pts)} keyframes")
            self.server.wait_idle()
            video_id = self.id_of(self.media[f"feature_{kind}"])
            _, playlist = open_video(self.client, video_id, "original")
            self.results.set(f"long_playlist_{kind}", playlist)
            self.results.set(f"long_index_playlist_{kind}", index + playlist)
            stream, _ = open_video(self.client, video_id, "original")
            self.results.set(f"first_segment_long_{kind}", playlist + stream.fetch(self.client, 0),
                             "master + media playlist + segment 0, the file never opened by a worker")
            started = time.perf_counter()
            with av.open(path) as container:
                scan = keyframe_index._scan_packets(container, container.streams.video[0])
            self.results.set(f"long_scan_packets_{kind}", time.perf_counter() - started,
                             f"{len(scan.keyframes)} keyframes")

    def api(self):
        queries = [w.lower() for w in benchmedia.ADJECTIVES + benchmedia.NOUNS] + ["the s", "ri", "zzz", "é"]
        alone = {"shows": [], "search": []}
        for n in range(20):
            alone["shows"].append(self.client.get("/api/v1/shows")[2])
            alone["search"].append(self.client.get(f"/api/v1/shows?search={urllib.parse.quote(queries[n])}")[2])
        self.results.set("api_shows_alone", 1000 * statistics.median(alone["shows"]))
        self.results.set("api_search_alone", 1000 * statistics.median(alone["search"]))
        shows = self.client.json("/api/v1/shows")

        halt = threading.Event()
        transcoding = threading.Thread(target=self._transcode_loop, args=(halt,), daemon=True)
        transcoding.start()
        time.sleep(0.5)  # the transcode is under way before the load starts
        latencies = {"shows": [], "search": []}
        errors = []
        end = time.monotonic() + self.p["api"]

        def client_loop(number):
            client = Client(self.server.port)
            rng = random.Random(number)
            try:
                while time.monotonic() < end:
                    kind = "search" if rng.random() < 0.5 else "shows"
                    path = "/api/v1/shows" if kind == "shows" else \
                        f"/api/v1/shows?search={urllib.parse.quote(rng.choice(queries))}"
                    status, _, seconds = client.get(path)
                    if status != 200:
                        errors.append(f"{path} → {status}")
                    latencies[kind].append(seconds)
            except Exception as error:  # reported after the join
                errors.append(repr(error))
            finally:
                client.close()

        started = time.perf_counter()
        threads = [threading.Thread(target=client_loop, args=(n,)) for n in range(50)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.perf_counter() - started
        halt.set()
        transcoding.join()
        if errors:
            raise RuntimeError(f"API errors under load: {errors[:5]}")
        for kind in ("shows", "search"):
            values = sorted(latencies[kind])
            for q in (50, 95, 99):
                self.results.set(f"api_{kind}_p{q}", 1000 * _percentile(values, q),
                                 f"{len(values)} requests, {len(shows)} shows" if q == 50 else None)
        self.results.set("api_requests_per_s", sum(len(v) for v in latencies.values()) / wall)

    def _transcode_loop(self, halt):
        client = Client(self.server.port)
        stream, _ = open_video(client, self.id_of(self.media["load"]), "720p_h264")
        index = 0
        while not halt.is_set():
            stream.fetch(client, index % len(stream))
            index += 1
        client.close()

    def players(self):
        self.server.wait_idle()
        runs = run_players(self.server.port, [self.id_of(p) for p in self.media["players"]], "480p_h264",
                           self.p["players"], loop=False)
        self.results.set("players4_480p_slowest", min(r.greedy_rate() for r in runs),
                         "; ".join(f"{r.greedy_rate():.2f}×" for r in runs))
        self.results.set("players4_480p_stalls", sum(r.stalls for r in runs),
                         f"{sum(r.stall_seconds for r in runs):.1f} s stalled")

    def soak(self):
        seconds = self.p["soak"]
        if not seconds:
            self.results.skip(["soak_rss_growth", "soak_stalls"], "full run only")
            return
        self.server.wait_idle()
        samples = []
        halt = threading.Event()

        def sample():
            start = time.monotonic()
            while not halt.wait(10):
                total = sum(rss_mb(pid) or 0 for pid in self.server.pids())
                samples.append((time.monotonic() - start, total))
        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        runs = run_players(self.server.port, [self.id_of(p) for p in self.media["players"]], "480p_h264",
                           seconds, loop=True)
        halt.set()
        sampler.join()
        early = [mb for t, mb in samples if 60 <= t < 120] or [samples[0][1]]
        late = [mb for t, mb in samples if t >= seconds - 60] or [samples[-1][1]]
        self.results.set("soak_rss_growth", statistics.mean(late) - statistics.mean(early),
                         f"{statistics.mean(early):.0f} MB in minute 2 → {statistics.mean(late):.0f} MB in the last")
        self.results.set("soak_stalls", sum(r.stalls for r in runs))

    # -- the whole run ---------------------------------------------------------

    def run(self):
        steps = [("media", self.prepare), ("codec speed", self.machine), ("server", self.start), ("library scan", self.scan),
                 ("workers", self.warm_workers), ("first segment", self.first_segment), ("copy limit", self.copy_limit),
                 ("copy back to back", self.copy_busy),
                 ("seeks", self.seeks),
                 ("sequential playback", self.playback), ("long file", self.long_file), ("API under load", self.api),
                 ("4 players", self.players), ("soak", self.soak)]
        began = time.monotonic()
        try:
            for name, step in steps:
                started = time.monotonic()
                self.log(f"[{time.monotonic() - began:5.0f} s] {name}")
                step()
                self.log(f"        {name}: {time.monotonic() - started:.1f} s")
        finally:
            if self.server is not None:
                self.server.stop()
            if not self.keep:
                shutil.rmtree(self.work, ignore_errors=True)
        if not FFMPEG:
            self.results.skip([k for k in FIGURE_KEYS if "ffmpeg" in k], "ffmpeg not installed")
        self.seconds = time.monotonic() - began
        return self.results


def _copy_limit(container, start, duration, muxer="null", target=os.devnull):
    """Seconds (wall, CPU) PyAV takes to seek the open ``container`` to ``start`` (from
    its first keyframe on) and mux the packets up to ``start + duration`` into a null output
    (or into ``target`` with the muxer ``muxer``: what is left above the limit that is MPEG-TS itself,
    its Annex B conversion and 188-byte packets, which a player of TS segments needs)."""
    streams = [container.streams.video[0], *container.streams.audio[:1]]
    video = streams[0]
    first = video.start_time or 0
    began, used = time.perf_counter(), time.process_time()
    container.seek(first + int(start / video.time_base), stream=video, backward=True)
    out = av.open(target, "w", format=muxer)
    outs = {s.index: out.add_stream_from_template(s) for s in streams}
    end = first + (start + duration) / video.time_base
    for packet in container.demux(streams):
        if packet.pts is None:
            continue
        if packet.stream is video and packet.pts >= end:
            break
        packet.stream = outs[packet.stream.index]
        out.mux(packet)
    out.close()
    return time.perf_counter() - began, time.process_time() - used


def _middle(stream, reps):
    middle = len(stream) // 2
    indexes = [i for i in range(middle + reps // 2, -1, -1)][:reps]
    return sorted(set(indexes), reverse=True)


def _spread(values):
    return f"n={len(values)}, {min(values):.3f}–{max(values):.3f} s" if len(values) > 1 else f"n={len(values)}"


def _percentile(values, q):
    if not values:
        return float("nan")
    rank = max(0, min(len(values) - 1, round(q / 100 * len(values) + 0.5) - 1))
    return values[rank]


# ---------------------------------------------------------------------------
# Players


class PlayerRun:
    """One simulated hls.js player: fetch ahead while the buffer holds under 30 s, play at 1×.

    A stall is the playhead reaching the end of the buffer before the next segment came.
    """

    def __init__(self):
        self.stalls = 0
        self.stall_seconds = 0.0
        self.greedy_media = 0.0  # seconds of video fetched while the buffer was below its goal
        self.greedy_wall = 0.0

    def greedy_rate(self):
        return self.greedy_media / self.greedy_wall if self.greedy_wall else float("inf")


def run_players(port, video_ids, variant, seconds, loop):
    runs = [PlayerRun() for _ in video_ids]
    deadline = time.monotonic() + seconds
    errors = []

    def play(video_id, run):
        client = Client(port)
        try:
            while True:
                stream, _ = open_video(client, video_id, variant)
                played = _play(client, stream, run, deadline)
                if not loop or not played:
                    return
        except Exception as error:  # reported after the join
            errors.append(error)
        finally:
            client.close()

    threads = [threading.Thread(target=play, args=(v, r)) for v, r in zip(video_ids, runs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return runs


def _play(client, stream, run, deadline):
    """Play ``stream`` once (or until ``deadline``); True if it reached the end."""
    buffered = 0.0  # media seconds received
    position = 0.0  # the playhead
    clock = None  # wall time the playhead was last advanced
    for index in range(len(stream)):
        if time.monotonic() >= deadline:
            return False
        if clock is not None:
            ahead = buffered - (position + time.monotonic() - clock)
            if ahead > BUFFER_GOAL:
                time.sleep(ahead - BUFFER_GOAL)
        greedy = clock is None or buffered - (position + time.monotonic() - clock) < BUFFER_GOAL
        seconds = stream.fetch(client, index)
        now = time.monotonic()
        if greedy:
            run.greedy_media += stream.durations[index]
            run.greedy_wall += seconds
        if clock is None:
            clock = now  # playback starts with the first segment
        else:
            position += now - clock
            clock = now
            if position > buffered:  # the playhead ran out of video while waiting
                run.stalls += 1
                run.stall_seconds += position - buffered
                position = buffered
        buffered += stream.durations[index]
    return True


# ---------------------------------------------------------------------------
# Command line


def machine():
    cpu = "unknown"
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as info:
        for line in info:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {"cpu": cpu, "cores": os.cpu_count(), "load_average": os.getloadavg(), "python": platform.python_version(),
            "pyav": av.__version__, "ffmpeg": _ffmpeg_version()}


def _ffmpeg_version():
    if not FFMPEG:
        return None
    line = subprocess.run([FFMPEG, "-version"], capture_output=True, text=True).stdout.splitlines()[0]
    return line.split(" Copyright")[0]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--quick", action="store_true", help="shorter media, fewer repetitions (< 5 min)")
    group.add_argument("--smoke", action="store_true", help="tiny run that only proves the suite works")
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    parser.add_argument("--keep", metavar="DIR", help="work in DIR and keep media, database and server log")
    args = parser.parse_args(argv)
    mode = "smoke" if args.smoke else "quick" if args.quick else "full"
    if not FFMPEG:
        print("ffmpeg not found: the ffmpeg-per-segment baseline is skipped (apt-get install -y ffmpeg)")
    about = machine()
    bench = Bench(mode, keep=os.path.abspath(args.keep) if args.keep else None,
                  log=lambda text: print(text, flush=True))
    results = bench.run()
    print()
    print(f"Haema benchmark ({mode}), {datetime.date.today()}, {about['cpu']}, {about['cores']} cores, "
          f"load average {about['load_average'][0]:.1f} at the start; {bench.seconds:.0f} s")
    print(results.table())
    if args.json:
        document = {"mode": mode, "date": datetime.datetime.now().isoformat(timespec="seconds"),
                    "machine": about, "seconds": round(bench.seconds, 1), "media": bench.media_facts(),
                    "figures": list(results.rows())}
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump(document, out, indent=2, ensure_ascii=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
