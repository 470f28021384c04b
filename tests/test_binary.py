"""The single-file binary (scripts/build-binary.sh) on a bare Debian with no Python:
skipped unless HAEMA_BINARY_TEST=1.

It needs a running Docker daemon and the bare image that
`scripts/make-base-image.sh --no-python` makes (debootstrap, half a minute), and builds the
binary unless given one (a few minutes), so it stays out of `.ci/run`. Run it with:

    HAEMA_BINARY_TEST=1 python -P -m pytest -q -s -n 0 tests/test_binary.py

Settings (environment):
  HAEMA_BINARY_TEST=1    run these tests
  HAEMA_BINARY           a binary built already (else scripts/build-binary.sh builds one)
  HAEMA_BINARY_IMAGE     the bare image [haema-base:bookworm-bare]
  HAEMA_DOCKER           the docker client [docker]

The container gets only the binary and a read-only library; the encoder, scan and watch
processes it starts are the binary again. The segment is checked with PyAV on this side.
"""
import os
import shlex
import subprocess
import time
import uuid

import pytest

from harness.processes import free_port
from harness.server import REPO, request
from .test_install import library, play_first_segment  # noqa: F401 (library is a fixture)

pytestmark = pytest.mark.skipif(os.environ.get("HAEMA_BINARY_TEST") != "1",
                                reason="the binary's container test runs only with HAEMA_BINARY_TEST=1")

DOCKER = shlex.split(os.environ.get("HAEMA_DOCKER", "docker"))
IMAGE = os.environ.get("HAEMA_BINARY_IMAGE", "haema-base:bookworm-bare")
SCAN_WITHIN = 300  # seconds, for the first scan on a loaded machine


def docker(*args, check=True, timeout=120):
    result = subprocess.run(DOCKER + list(args), capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
    return result


@pytest.fixture(scope="module")
def binary(tmp_path_factory):
    if os.environ.get("HAEMA_BINARY"):
        return os.path.abspath(os.environ["HAEMA_BINARY"])
    out = tmp_path_factory.mktemp("dist")
    subprocess.run([os.path.join(REPO, "scripts", "build-binary.sh"), "--out", str(out)], check=True, timeout=1800)
    (built,) = out.iterdir()
    return str(built)


@pytest.fixture(scope="module")
def bare_image():
    if docker("image", "inspect", IMAGE, check=False).returncode != 0:
        pytest.fail(f"no image {IMAGE}: make it with scripts/make-base-image.sh --no-python")
    found = docker("run", "--rm", IMAGE, "sh", "-c", "command -v python3 python || ls /usr/bin/python*", check=False)
    assert found.returncode != 0, f"{IMAGE} has a Python: {found.stdout}"
    return IMAGE


def test_the_binary_serves_and_plays_in_a_bare_debian(binary, bare_image, library):
    name = f"haema-binary-{uuid.uuid4().hex[:8]}"
    port = free_port()
    started = time.monotonic()
    docker("run", "-d", "--name", name, "-p", f"127.0.0.1:{port}:8080",
           "-v", f"{binary}:/usr/local/bin/haema:ro", "-v", f"{library}:/media:ro", bare_image,
           "haema", "-t", "/media", "-h", "0.0.0.0", "-p", "8080", "--auth", "false", "--workers", "1",
           "--db", "/tmp/haema.db", "--cache-path", "/tmp/cache", "--log-level", "INFO")
    url = f"http://127.0.0.1:{port}"
    try:
        first_answer = _wait(url, "/api/v1/health", lambda status, _: status == 200, name)
        print(f"\nthe binary's first API answer came {first_answer - started:.1f} s after `docker run`")
        _wait(url, "/api/v1/library/scan", lambda status, report: status == 200 and report["finished_at"], name)
        frames = play_first_segment(url)
        print(f"first segment decoded: {frames} frames")
        processes = docker("exec", name, "sh", "-c", "cat /proc/[0-9]*/cmdline | tr '\\0' ' '").stdout
        assert "--multiprocessing-fork" in processes  # the encoder workers are the binary itself
    except BaseException:
        print(docker("logs", name, check=False).stderr[-5000:])
        raise
    finally:
        docker("rm", "-f", name, check=False)


def _wait(url, path, done, name):
    deadline = time.monotonic() + SCAN_WITHIN
    while time.monotonic() < deadline:
        try:
            status, answer = request(url + path, timeout=10)
            if done(status, answer):
                return time.monotonic()
        except OSError:
            pass
        state = docker("inspect", "-f", "{{.State.Status}}", name, check=False).stdout.strip()
        assert state == "running", f"the container is {state}:\n{docker('logs', name, check=False).stderr[-5000:]}"
        time.sleep(0.2)
    raise AssertionError(f"no answer to {path} in {SCAN_WITHIN} s")
