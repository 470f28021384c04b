"""README's nginx example in front of the real server: one cached copy of a segment serves
every user, and every request is still checked by Haema.

The server block is taken from README.md itself (TLS lines swapped for a plain port), so
the documented configuration is the tested one. Skipped where there is no nginx.
"""
import os
import re
import shutil
import subprocess
import time
import urllib.error
import urllib.request

import pytest

from harness.clips import make_clip
from harness.processes import free_port
from harness.server import add_user, running_server

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ADA = ("ada", "ada's long secret")
BOB = ("bob", "bob's long secret")

pytestmark = pytest.mark.skipif(not os.path.exists(NGINX), reason="no nginx")


def readme_nginx_config():
    with open(os.path.join(REPO, "README.md"), encoding="utf-8") as readme:
        text = readme.read()
    return re.search(r"```nginx\n(.*?)```", text, re.DOTALL).group(1)


def nginx_config(workdir, port, haema_port):
    config = readme_nginx_config()
    config = config.replace("listen 443 ssl http2;", f"listen 127.0.0.1:{port};")
    config = re.sub(r"\n\s*ssl_certificate\S* [^\n]*;", "", config)
    config = config.replace("127.0.0.1:8080", f"127.0.0.1:{haema_port}")
    config = config.replace("/var/cache/nginx/haema", os.path.join(workdir, "cache"))
    # what the test needs to see: whether an answer came from the cache
    config = config.replace("proxy_cache_lock on;", "proxy_cache_lock on;\n        "
                            "add_header X-Cache-Status $upstream_cache_status always;")
    return (f"daemon off; master_process off; pid {workdir}/nginx.pid; error_log {workdir}/error.log;\n"
            "events {}\n"
            f"http {{ access_log off; client_body_temp_path {workdir}/body; proxy_temp_path {workdir}/proxy;\n"
            f"{config}\n}}\n")


def fetch(url):
    """``(status, headers, body)``; an error status is returned, not raised."""
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


@pytest.fixture
def proxy(tmp_path):
    """``(nginx URL, Haema server)`` with accounts ``ada`` and ``bob``."""
    root = tmp_path / "media" / "Movies"
    root.mkdir(parents=True)
    make_clip(root / "Heat (1995).mp4", seconds=2, width=160, height=96, gop=12)
    workdir = str(tmp_path / "haema")
    os.mkdir(workdir)
    add_user(workdir, *ADA, admin=True)
    add_user(workdir, *BOB)
    nginx_dir = tmp_path / "nginx"
    nginx_dir.mkdir()
    port = free_port()
    with running_server(tmp_path / "media", workdir, user=ADA) as server:
        conf = nginx_dir / "nginx.conf"
        conf.write_text(nginx_config(str(nginx_dir), port, server.url.rsplit(":", 1)[1]))
        process = subprocess.Popen([NGINX, "-p", str(nginx_dir), "-c", str(conf)], stderr=subprocess.PIPE)
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and process.poll() is None:
                try:
                    urllib.request.urlopen(url + "/static/app.css", timeout=2).read()
                    break
                except OSError:
                    time.sleep(0.1)
            assert process.poll() is None, process.stderr.read().decode()
            yield url, server
        finally:
            process.terminate()
            process.wait(10)


def signed_segment(server, user):
    status, answer = server.api("/api/v1/auth/login", "POST", {"username": user[0], "password": user[1]})
    server.token = answer["token"]
    [show] = server.api("/api/v1/shows")[1]
    master = server.api(f"/api/v1/video/{show['info']['id']}")[1]["master"]
    path, query = master.split("?")
    return f"{path.rsplit('/', 1)[0]}/original/0.ts?{query}"


def test_one_cached_segment_serves_every_user_and_each_is_checked(proxy):
    url, server = proxy
    for_ada, for_bob = signed_segment(server, ADA), signed_segment(server, BOB)
    assert for_ada.split("?")[0] == for_bob.split("?")[0] and for_ada != for_bob

    status, headers, first = fetch(url + for_ada)
    assert (status, headers["X-Cache-Status"]) == (200, "MISS")
    status, headers, again = fetch(url + for_bob)
    assert (status, headers["X-Cache-Status"]) == (200, "HIT")  # bob gets ada's copy: same bytes
    assert again == first and first[0] == 0x47

    # the copy is cached, yet a forged, a missing or a removed user's signature gets nothing
    forged = re.sub(r"sig=[^&]+", "sig=AAAAAAAAAAAAAAAAAAAAAAAA", for_bob)
    assert fetch(url + forged)[0] == 403
    assert fetch(url + for_bob.split("?")[0])[0] == 401
    status, answer = server.api("/api/v1/auth/login", "POST", {"username": ADA[0], "password": ADA[1]})
    server.token = answer["token"]
    assert server.api("/api/v1/users/bob", "DELETE")[0] == 204
    assert fetch(url + for_bob)[0] == 403
    assert fetch(url + for_ada)[0] == 200
