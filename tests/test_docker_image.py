"""The Docker image, built and run as a user would: skipped unless HAEMA_DOCKER_TEST=1.

It needs a running Docker daemon, builds the image (minutes the first time, FFmpeg is
compiled), so it stays out of `.ci/run`. Run it with, for example:

    HAEMA_DOCKER_TEST=1 HAEMA_HLSCHECK=../shared/hlscheck.py \\
    HAEMA_DOCKER_BUILD_OPTIONS="--build-arg FFMPEG_SOURCE=vendor/ffmpeg-8.1.2.tar.xz --build-arg JOBS=2" \\
        python -m pytest -q -s -n 0 tests/test_docker_image.py

Settings (environment):
  HAEMA_DOCKER_TEST=1          run these tests
  HAEMA_HLSCHECK               the referee, hlscheck.py (it needs Debian's ffprobe)
  HAEMA_DOCKER                 the docker client [docker]; it must build with BuildKit
                               (Debian 12's docker.io client does, DOCKER_BUILDKIT=1 is set)
  HAEMA_DOCKER_BUILD_OPTIONS   more `docker build` options, e.g. `--network host` or
                               `--build-arg PYTHON_IMAGE=...` (scripts/make-base-image.sh)
  HAEMA_DOCKER_IMAGE           the tag to build [haema:test]

The container runs as the image says (its own non-root user, accounts on), with a generated
media folder mounted read-only, named volumes for /data and /cache, a read-only root file
system and a tmpfs on /tmp as in docker-compose.yml, and its port published on 127.0.0.1 only.
The first admin is made as a user would: through the one-time link in the container's log.
"""
import json
import os
import shlex
import re
import subprocess
import sys
import time
import uuid

import pytest

from harness.clips import make_clip
from harness.server import REPO, request

pytestmark = pytest.mark.skipif(os.environ.get("HAEMA_DOCKER_TEST") != "1",
                                reason="the Docker image test runs only with HAEMA_DOCKER_TEST=1")

DOCKER = shlex.split(os.environ.get("HAEMA_DOCKER", "docker"))
IMAGE = os.environ.get("HAEMA_DOCKER_IMAGE", "haema:test")
HEALTHY_WITHIN = 300  # seconds: the image's HEALTHCHECK first runs 30 s after the start
PORT = 8080  # the image's
ADMIN = ("admin", "container-test-password")
SETUP_LINK = re.compile(r"#/setup/([A-Za-z0-9_-]+)")

# (title, file in the library, the variants to judge): H.264 is copied ("original", in
# MPEG-TS) and transcoded to a lower rung; 10-bit HEVC is copied into fMP4 ("original",
# hvc1) and transcoded to H.264 at its own size.
FILMS = {
    "Lighthouse": ("Movies/Lighthouse (2020)/Lighthouse (2020).mp4", ["original", "360p_h264"]),
    "Harbour": ("Movies/Harbour (2021)/Harbour (2021).mkv", ["original", "360p_h264"]),
}


def docker(*args, check=True, timeout=120, **kwargs):
    """Run the docker client; a failure shows its output."""
    result = subprocess.run(DOCKER + list(args), capture_output=True, text=True, timeout=timeout,
                            env=dict(os.environ, DOCKER_BUILDKIT="1"), **kwargs)
    if check and result.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
    return result


@pytest.fixture(scope="module")
def hlscheck():
    path = os.environ.get("HAEMA_HLSCHECK")
    assert path and os.path.isfile(path), "set HAEMA_HLSCHECK to the path of hlscheck.py"
    return path


@pytest.fixture(scope="module")
def image():
    """The image, built from this checkout (BuildKit reuses its layers on a second run)."""
    options = shlex.split(os.environ.get("HAEMA_DOCKER_BUILD_OPTIONS", ""))
    docker("build", "--progress", "plain", "-t", IMAGE, *options, REPO, timeout=3600)
    return IMAGE


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    """A 480p H.264/AAC film and a 360p 10-bit HEVC/AC-3 film, 12 s each at 12 fps, in a
    folder the image's user (uid 1000) can read."""
    root = tmp_path_factory.mktemp("docker") / "media"
    for title, (relpath, _) in FILMS.items():
        path = root / relpath
        path.parent.mkdir(parents=True)
        if title == "Lighthouse":
            make_clip(path, seconds=12, width=854, height=480, fps=12, gop=24)
        else:
            make_clip(path, seconds=12, width=640, height=360, fps=12, gop=24, video_codec="libx265",
                      pix_fmt="yuv420p10le", audio_codec="ac3")
    for folder, _, files in os.walk(root):
        os.chmod(folder, 0o755)
        for name in files:
            os.chmod(os.path.join(folder, name), 0o644)
    return root


class Container:
    """One running container of the image and what the test needs of it."""

    def __init__(self, name):
        self.name = name
        self.token = None  # the admin's session, once set up

    @property
    def url(self):
        port = docker("port", self.name, f"{PORT}/tcp").stdout.splitlines()[0].rsplit(":", 1)[1]
        return f"http://127.0.0.1:{port}"

    def api(self, path, method="GET", body=None):
        return request(self.url + path, method, body, token=self.token)

    def set_up_admin(self):
        """The first start prints a one-time link that creates the first admin: use it."""
        link = SETUP_LINK.search(self.logs())
        assert link, f"no setup link in the log:\n{self.logs()}"
        status, answer = self.api("/api/v1/auth/setup", "POST",
                                  {"token": link.group(1), "username": ADMIN[0], "password": ADMIN[1]})
        assert status == 200, answer
        self.token = answer["token"]

    def state(self):
        """Docker's view: Running, StartedAt, Health.Status (starting, healthy, unhealthy)."""
        return json.loads(docker("inspect", "-f", "{{json .State}}", self.name).stdout)

    def wait_healthy(self):
        """Until Docker itself reports the HEALTHCHECK healthy; fails at once if the
        container stops or turns unhealthy."""
        deadline = time.monotonic() + HEALTHY_WITHIN
        while time.monotonic() < deadline:
            state = self.state()
            status = state.get("Health", {}).get("Status")
            if not state["Running"] or status == "unhealthy":
                raise AssertionError(f"container {state['Status']}, health {status}:\n{self.logs()}\n{state}")
            if status == "healthy":
                return state["Health"]
            time.sleep(1)
        raise AssertionError(f"not healthy within {HEALTHY_WITHIN} s:\n{self.logs()}")

    def wait_scanned(self):
        """The index is filled by a scan at start-up, after the server answers."""
        deadline = time.monotonic() + HEALTHY_WITHIN
        while time.monotonic() < deadline:
            status, report = self.api("/api/v1/library/scan")
            if status == 200 and report["finished_at"] and not report["running"]:
                return report
            time.sleep(0.5)
        raise AssertionError(f"no finished scan within {HEALTHY_WITHIN} s:\n{self.logs()}")

    def video_id(self, title):
        """A film's video id is its show's id."""
        status, shows = self.api(f"/api/v1/shows?search={title}")
        assert status == 200 and len(shows) == 1, shows
        return shows[0]["info"]["id"]

    def logs(self):
        result = docker("logs", self.name, check=False)
        return result.stdout + result.stderr


@pytest.fixture(scope="module")
def container(image, media):
    name = f"haema-test-{uuid.uuid4().hex[:8]}"
    volumes = [f"{name}-data", f"{name}-cache"]
    docker("run", "-d", "--name", name, "-p", f"127.0.0.1::{PORT}",
           "-v", f"{media}:/media:ro", "-v", f"{volumes[0]}:/data", "-v", f"{volumes[1]}:/cache",
           "--read-only", "--tmpfs", "/tmp", "--security-opt", "no-new-privileges:true", image)
    try:
        running = Container(name)
        running.wait_healthy()
        running.set_up_admin()
        running.wait_scanned()
        yield running
    finally:
        docker("rm", "-f", name, check=False)
        docker("volume", "rm", *volumes, check=False)


def test_runs_as_a_user_that_cannot_write_the_media(container):
    uid = docker("exec", container.name, "id", "-u").stdout.strip()
    assert uid != "0"
    assert docker("exec", container.name, "touch", "/media/written", check=False).returncode != 0
    database = docker("exec", container.name, "stat", "-c", "%u", "/data/haema.db").stdout.strip()
    assert database == uid


def test_scan_indexes_both_films(container):
    report = container.wait_scanned()
    assert (report["added"], report["skipped"]) == (len(FILMS), []), report
    for title in FILMS:
        container.video_id(title)  # exactly one show of that title


@pytest.mark.parametrize("title, variant", [(title, variant) for title, (_, variants) in FILMS.items()
                                            for variant in variants])
def test_hlscheck_passes(container, media, hlscheck, title, variant):
    # the signed URL the API gives players that send no cookie or header, as hlscheck sends none
    status, video = container.api(f"/api/v1/video/{container.video_id(title)}")
    assert status == 200, video
    master_url = container.url + video["master"]
    result = subprocess.run([sys.executable, hlscheck, master_url, "--source", str(media / FILMS[title][0]),
                             "--variant", f"{variant}/"], capture_output=True, text=True, timeout=600)
    summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
    print(f"\n{title} {variant}:\n{result.stdout}")
    assert result.returncode == 0, result.stdout + result.stderr
    # an fMP4 variant is listed once per audio group (its own codec, and AAC)
    assert re.fullmatch(r"hlscheck: [12] variants, [1-9]\d* segments, 0 problems", summary), result.stdout


def test_progress_survives_a_restart(container):
    video_id = container.video_id("Lighthouse")
    status, saved = container.api(f"/api/v1/video/{video_id}/progress", "PUT", {"position": 5.5})
    assert status == 200, saved
    started = container.state()["StartedAt"]
    docker("restart", container.name, timeout=300)
    assert container.state()["StartedAt"] != started
    container.wait_healthy()
    status, progress = container.api(f"/api/v1/video/{video_id}/progress")
    assert status == 200
    assert (progress["position"], progress["finished"]) == (5.5, False)
