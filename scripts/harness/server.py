"""The installed ``haema`` as a subprocess, for tests that need a process boundary or a
browser and for scripts that measure it."""
import contextlib
import json
import os
import shutil
import subprocess
import sysconfig
import time
import urllib.error
import urllib.request

from .processes import free_port, stop

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def haema_command():
    """The installed ``haema`` command (``pip install .``; .ci/run installs it), so the
    tests run what users run, not the checkout's modules."""
    command = os.path.join(sysconfig.get_path("scripts"), "haema")
    if not os.path.exists(command):
        raise RuntimeError(f"no {command}: install Haema first (`pip install .`, README)")
    return [command]


def launch(command, log_path, session=False):
    """``command`` (a Haema server) started from the checkout, its output appended to
    ``log_path``; in a session of its own if ``session``, so that ``stop(process, group=True)``
    ends its encoder workers and scan too."""
    with open(log_path, "ab") as log:
        return subprocess.Popen(command, cwd=REPO, stdout=log, stderr=subprocess.STDOUT, start_new_session=session)


def request(url, method="GET", body=None, timeout=30, token=None):
    """``(status, parsed JSON or None)``; an HTTP error status is returned, not raised."""
    data = None if body is None else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:
            status, payload = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, payload = error.code, error.read()
    return status, json.loads(payload) if payload else None


class Server:
    def __init__(self, process, url, log_path):
        self.process, self.url, self.log_path = process, url, log_path
        self.token = None  # a session's, sent as Authorization: Bearer

    def api(self, path, method="GET", body=None):
        return request(self.url + path, method, body, token=self.token)

    def forget_choices(self):
        """The next film plays as a viewer who never chose a track or a quality sees it: the
        web player saves each menu choice (haema/preferences.py), and tests share a server."""
        status, _ = self.api("/api/v1/preferences", "PUT",
                             {"audio_language": None, "subtitle_language": None, "quality": "auto"})
        assert status == 200

    def log(self):
        with open(self.log_path, encoding="utf-8", errors="replace") as log:
            return log.read()


def add_user(workdir, name, password, admin=False, db=None):
    """``haema --add-user`` with the password on stdin, into the database ``db``
    (a URL), else ``workdir``'s SQLite file."""
    command = [*haema_command(), "--db", db or os.path.join(workdir, "haema.db"), "--add-user", name]
    done = subprocess.run(command + (["--admin"] if admin else []), cwd=REPO, input=password + "\n",
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done


# Seconds a server may take over its first scan and background pass. They run at nice 19,
# so while the other test process holds both cores (the benchmark's smoke run does, for
# most of a minute) they wait; a few seconds is usual.
SCAN_TIMEOUT = 300


@contextlib.contextmanager
def server_with_admin(template, workdir, admin):
    """``running_server`` on a copy of the library ``template`` in ``workdir``, with
    ``admin`` (name, password) added first and signed in."""
    root = workdir / "media"
    shutil.copytree(template, root)
    add_user(str(workdir), *admin, admin=True)
    with running_server(root, str(workdir), user=admin) as running:
        yield running


@contextlib.contextmanager
def running_server(root, workdir, timeout=SCAN_TIMEOUT, user=None, extra=(), db=None, settled=True, program=None):
    """``haema`` on ``root`` with its cache in ``workdir``, yielded once its first
    scan is done, and its background pass (keyframes, thumbnails, preview sheets) too
    unless ``settled`` is false.

    With ``--auth false`` unless ``user`` is ``(name, password)`` of an account added
    already (``add_user``); then ``server.api`` calls carry its token. ``extra`` are more
    command-line options. The database is ``db`` (a URL), or else a SQLite file in
    ``workdir``: the same ``workdir`` gives a restarted server the same database. The
    process is stopped on exit unless the test already killed it. ``program`` is the
    command to run (a list), by default the installed ``haema``.
    """
    port = free_port()
    log_path = os.path.join(workdir, f"server-{port}.log")
    command = [*(program or haema_command()), "-t", str(root), "-p", str(port), "--db", db or os.path.join(workdir, "haema.db"),
               "--cache-path", os.path.join(workdir, "cache"), "--log-level", "INFO", "--auth", "true" if user else "false",
               *extra]
    process = launch(command, log_path)
    server = Server(process, f"http://127.0.0.1:{port}", log_path)
    try:
        _wait_for_scan(server, timeout, user, settled)
        yield server
    finally:
        stop(process)


def _wait_for_scan(server, timeout, user, settled=True):
    """With accounts on, the report needs a session: ``user`` signs in first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"haema exited with {server.process.returncode}:\n{server.log()}")
        try:
            if user and server.token is None:
                status, answer = server.api("/api/v1/auth/login", "POST", {"username": user[0], "password": user[1]})
                server.token = answer["token"] if status == 200 else None
            status, report = server.api("/api/v1/library/scan")
            if status == 200 and report["finished_at"] and not (settled and report["running"]):
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"haema did not finish its first scan in {timeout} s:\n{server.log()}")
