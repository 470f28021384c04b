"""Several Haema nodes behind nginx, sharing one PostgreSQL: the parts, each a process.

PostgreSQL comes from Debian's ``postgresql`` package (``initdb`` into a folder of its
own, then ``pg_ctl`` on a free port), each node is ``python haema.py`` with its own cache
and encoder workers, nginx runs conf/nginx.conf. PostgreSQL and nginx refuse to run as
root, or run their workers as another user; as root, both run as the ``postgres`` user
(or ``nobody``) in folders it owns. scripts/cluster.py starts them for a person to try,
tests/conftest.py and tests/test_cluster.py for tests, scripts/bench_scaleout.py to measure.
"""
import contextlib
import glob
import json
import os
import pwd
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

from .processes import free_port, listening, stop
from .server import REPO, launch

NGINX_CONF = os.path.join(REPO, "conf", "nginx.conf")


# -- Running as someone else ----------------------------------------------------


def service_user():
    """Who runs PostgreSQL and nginx: ourselves, or, as root, an unprivileged user."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise RuntimeError("running as root with neither a postgres nor a nobody user to run services as")


def _as_service_user(command):
    user = service_user()
    return command if user is None else ["runuser", "-u", user.pw_name, "--", *command]


def _service_dir(prefix, parent=None):
    """A fresh folder the service user owns, in a place it can reach (pytest's own
    temporary folders are private to root)."""
    path = tempfile.mkdtemp(prefix=prefix, dir=parent)
    user = service_user()
    if user is not None:
        os.chown(path, user.pw_uid, user.pw_gid)
    return path


# -- PostgreSQL -----------------------------------------------------------------


def postgres_binaries():
    """``(bin folder, None)``, or ``(None, why not)``."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if not found:
        return None, "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb; apt-get install postgresql)"
    if os.geteuid() == 0 and not shutil.which("runuser"):
        return None, "running as root without runuser to start PostgreSQL as another user"
    return os.path.dirname(found[-1]), None


class Postgres:
    """A throwaway PostgreSQL server: its own data folder, a free TCP port, user
    ``haema`` trusted from 127.0.0.1. ``durable=False`` turns off fsync, for tests."""

    USER = "haema"

    def __init__(self, durable=True):
        self.bin, reason = postgres_binaries()
        if self.bin is None:
            raise RuntimeError(reason)
        self.durable = durable
        self.dir = _service_dir("haema-pg-")
        self.data = os.path.join(self.dir, "data")
        self.port = free_port()
        self.started = False

    def start(self):
        self._run("initdb", "-D", self.data, "-U", self.USER, "--auth=trust", "--encoding=UTF8", "--no-locale",
                  *([] if self.durable else ["--no-sync"]))
        options = f"-c listen_addresses=127.0.0.1 -c port={self.port} -c unix_socket_directories='' " \
                  "-c max_connections=200"
        if not self.durable:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        self._run("pg_ctl", "-D", self.data, "-l", os.path.join(self.dir, "server.log"), "-w", "-o", options, "start")
        self.started = True
        return self

    def url(self, name="postgres"):
        return f"postgresql://{self.USER}@127.0.0.1:{self.port}/{name}"

    def create_database(self, name):
        """A new empty database, returned as its URL."""
        self.sql(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def sql(self, statement, name="postgres"):
        import psycopg  # only the PostgreSQL parts need it

        with psycopg.connect(self.url(name), autocommit=True) as connection:
            connection.execute(statement)

    def stop(self):
        if self.started:
            self._run("pg_ctl", "-D", self.data, "-m", "immediate" if not self.durable else "fast", "stop")
            self.started = False
        shutil.rmtree(self.dir, ignore_errors=True)

    def _run(self, program, *args):
        command = _as_service_user([os.path.join(self.bin, program), *args])
        result = subprocess.run(command, capture_output=True, text=True, cwd=self.dir)
        if result.returncode != 0:
            raise RuntimeError(f"{program} failed ({result.returncode}): {result.stderr or result.stdout}")


# -- nginx ----------------------------------------------------------------------


def render_nginx_conf(text, listen, nodes, cache_dir):
    """conf/nginx.conf with its upstream servers, listening port and cache folder replaced."""
    servers = "".join(f"    server 127.0.0.1:{port} max_fails=1 fail_timeout=10s;\n" for port in nodes)
    text, count = re.subn(r"(upstream haema \{\n(?:.*\n)*?)(?:    server .*\n)+", lambda m: m.group(1) + servers, text)
    text, count2 = re.subn(r"listen 8080;", f"listen 127.0.0.1:{listen};", text)
    text, count3 = re.subn(r"proxy_cache_path /var/cache/nginx/haema(\S*)",
                           lambda m: f"proxy_cache_path {cache_dir}{m.group(1)}", text)
    if (count, count2, count3) != (1, 1, 2):
        raise RuntimeError("conf/nginx.conf no longer has one upstream, one listen 8080 and two proxy_cache_path"
                           " (segments, checks) in /var/cache/nginx/haema*")
    return text


class Nginx:
    """nginx in the foreground with conf/nginx.conf inside a minimal main config.
    The access log records which node served each request and the cache status."""

    def __init__(self, nodes, port=None):
        if not shutil.which("nginx"):
            raise RuntimeError("nginx is not installed (apt-get install nginx)")
        self.port = port or free_port()
        self.dir = _service_dir("haema-nginx-")
        self.access_log = os.path.join(self.dir, "access.log")
        with open(NGINX_CONF, encoding="utf-8") as conf:
            site = render_nginx_conf(conf.read(), self.port, nodes, os.path.join(self.dir, "cache"))
        self._write("haema.conf", site)
        temp = "".join(f"    {kind}_temp_path {self.dir}/{kind}_temp;\n"
                       for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        self._write("nginx.conf", f"""daemon off;
pid {self.dir}/nginx.pid;
error_log {self.dir}/error.log warn;
worker_processes 1;
events {{ worker_connections 1024; }}
http {{
    log_format haema '$request_method|$uri|$status|$upstream_addr|$upstream_status|$upstream_cache_status';
    access_log {self.access_log} haema;
{temp}    include {self.dir}/haema.conf;
}}
""")
        self.process = None

    def _write(self, name, text):
        path = os.path.join(self.dir, name)
        with open(path, "w", encoding="utf-8") as out:
            out.write(text)
        user = service_user()
        if user is not None:
            os.chown(path, user.pw_uid, user.pw_gid)

    def start(self):
        command = _as_service_user(["nginx", "-p", self.dir, "-c", os.path.join(self.dir, "nginx.conf"),
                                    "-e", os.path.join(self.dir, "error.log")])
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                        start_new_session=True)
        _wait_for(lambda: listening(self.port), self.process, "nginx", self.error_log)
        return self

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def error_log(self):
        return _read(os.path.join(self.dir, "error.log"))

    def served(self):
        """The access log as ``[(method, uri, status, upstream addresses, cache status)]``;
        the addresses are those tried, in order, as in "127.0.0.1:8081, 127.0.0.1:8082"."""
        rows = []
        for line in _read(self.access_log).splitlines():
            method, uri, status, upstream, _, cache = line.split("|")
            rows.append((method, uri, int(status), upstream, cache))
        return rows

    def stop(self):
        stop(self.process, group=True)
        shutil.rmtree(self.dir, ignore_errors=True)


# -- Haema nodes ----------------------------------------------------------------


class Node:
    """``python haema.py`` with its own port, cache and log, in a process group of its
    own, so that killing the node kills its encoder workers and scanner too."""

    def __init__(self, root, db_url, workdir, workers=1, extra=()):
        self.port = free_port()
        self.dir = os.path.join(workdir, f"node-{self.port}")
        os.makedirs(self.dir)
        self.log_path = os.path.join(self.dir, "haema.log")
        self.command = [sys.executable, "haema.py", "-t", str(root), "-p", str(self.port), "--db", db_url,
                        "--cache-path", os.path.join(self.dir, "cache"), "--workers", str(workers),
                        "--log-level", "INFO", *extra]
        self.process = None

    def start(self):
        self.process = launch(self.command, self.log_path, session=True)
        _wait_for(lambda: listening(self.port), self.process, "haema", self.log)
        return self

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    @property
    def address(self):
        return f"127.0.0.1:{self.port}"

    def log(self):
        return _read(self.log_path)

    def kill(self):
        """SIGKILL, as a machine that dies: no goodbye to nginx or the database."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self):
        stop(self.process, group=True)


def wait_for_scan(url, timeout=120):
    """Until the shared scan report says a scan has finished and none is running (read
    from the health check, which needs no account)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + "/api/v1/health", timeout=10) as response:
                health = json.load(response)
            if health["scanned_at"] and not health["scanning"]:
                return health
        except (OSError, ValueError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"no finished scan at {url} after {timeout} s")


# -- The whole cluster ----------------------------------------------------------


@contextlib.contextmanager
def cluster(root, nodes=2, workers=1, port=None, workdir=None, durable=True, extra=(), scan_timeout=120):
    """PostgreSQL, ``nodes`` Haema nodes and nginx, yielded as ``(postgres, [Node], nginx)``
    once the library is scanned; everything is stopped on exit."""
    with contextlib.ExitStack() as stack:
        workdir = workdir or stack.enter_context(tempfile.TemporaryDirectory(prefix="haema-cluster-"))
        postgres = Postgres(durable=durable)
        stack.callback(postgres.stop)
        postgres.start()
        db_url = postgres.create_database("haema")
        members = []
        for _ in range(nodes):
            node = Node(root, db_url, workdir, workers, extra)
            stack.callback(node.stop)
            members.append(node.start())
        for node in members:
            wait_for_scan(node.url, scan_timeout)
        proxy = Nginx([n.port for n in members], port)
        stack.callback(proxy.stop)
        proxy.start()
        yield postgres, members, proxy


# -- Plumbing -------------------------------------------------------------------


def _wait_for(ready, process, name, log, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with {process.returncode}:\n{log()[-3000:]}")
        if ready():
            return
        time.sleep(0.05)
    raise RuntimeError(f"{name} did not start in {timeout} s:\n{log()[-3000:]}")


def _read(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as log:
            return log.read()
    except FileNotFoundError:
        return ""
