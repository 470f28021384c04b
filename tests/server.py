"""The real server as a subprocess, for tests that need a process boundary or a browser."""
import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def request(url, method="GET", body=None, timeout=30):
    """``(status, parsed JSON or None)``; an HTTP error status is returned, not raised."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:
            status, payload = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, payload = error.code, error.read()
    return status, json.loads(payload) if payload else None


class Server:
    def __init__(self, process, url, log_path):
        self.process, self.url, self.log_path = process, url, log_path

    def api(self, path, method="GET", body=None):
        return request(self.url + path, method, body)

    def log(self):
        with open(self.log_path, encoding="utf-8", errors="replace") as log:
            return log.read()


@contextlib.contextmanager
def running_server(root, workdir, timeout=60, db=None):
    """``python haema.py`` on ``root`` with its cache in ``workdir``, yielded once its first scan is done.

    The database is ``db`` (a URL), or else a SQLite file in ``workdir``: the same
    ``workdir`` gives a restarted server the same database. The process is stopped on
    exit unless the test already killed it.
    """
    port = free_port()
    log_path = os.path.join(workdir, f"server-{port}.log")
    command = [sys.executable, "haema.py", "-t", str(root), "-p", str(port), "--db", db or os.path.join(workdir, "haema.db"),
               "--cache-path", os.path.join(workdir, "cache"), "--log-level", "INFO"]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
    server = Server(process, f"http://127.0.0.1:{port}", log_path)
    try:
        _wait_for_scan(server, timeout)
        yield server
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_for_scan(server, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"haema exited with {server.process.returncode}:\n{server.log()}")
        try:
            status, report = server.api("/api/v1/library/scan")
            if status == 200 and report["finished_at"] and not report["running"]:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"haema did not finish its first scan in {timeout} s:\n{server.log()}")
