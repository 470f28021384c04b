"""Haema as the benchmark runs it: ``python haema.py`` from the checkout, scans only when
asked, no segment cache, and readings of its processes (CPU, idle, memory)."""
import contextlib
import datetime
import os
import signal
import sqlite3
import sys
import threading
import time

from harness.processes import children, cpu_seconds, free_port, rss_mb, stop
from harness.server import launch
from harness.viewer import Client

WORKERS = max(1, os.cpu_count() or 1)  # the server's default, passed explicitly
IDLE_WINDOW = 0.5  # seconds the server must stay idle before a cold measurement


class Server:
    """``python haema.py`` as a subprocess, with its own database and no segment cache."""

    def __init__(self, root, work, log, extra=(), name="server"):
        self.root, self.work, self.log = root, work, log
        self.port = free_port()
        self.db = os.path.join(work, "haema.db")
        self.log_path = os.path.join(work, f"{name}.log")
        command = [sys.executable, "haema.py", "-t", root, "-p", str(self.port), "--db", self.db,
                   "--cache-path", os.path.join(work, "cache"), "--cache", "false", "--workers", str(WORKERS),
                   "--scan-on-start", "false", "--log-level", "WARNING", "--auth", "false",  # measures media, on loopback
                   *extra]
        self.process = launch(command, self.log_path)
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

        The scan runs in a process of its own and the server keeps answering meanwhile; a
        status poll that still gets no answer in 3 s is counted in ``hung`` (which the
        scan figures' notes show) and asked again on a new connection.
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
        """The encoder processes (and a scan's, while one runs): the server's children."""
        return children(self.process.pid)

    def cpu_seconds(self, pids=None):
        """CPU time of ``pids`` (default: the server and its workers)."""
        return sum(cpu_seconds(pid) or 0 for pid in (self.pids() if pids is None else pids))

    def stop(self):
        self.client.close()
        stop(self.process, signal.SIGINT)


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


def _iso(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
