"""``pip install .`` into a fresh virtual environment gives a working ``haema`` command:
its help, and a server on a small library that answers the API and makes a segment.

The venv sees this Python's site-packages (the dependencies, installed from
requirements.txt) and builds Haema without build isolation, so it installs only Haema,
offline, in seconds. The sources are copied first so the build leaves nothing in the checkout.
"""
import io
import pathlib
import re
import shutil
import subprocess
import sys
import urllib.request

import av
import pytest

from harness.clips import make_clip
from harness.server import REPO, request, running_server

# what `pip install .` reads; nothing else of the checkout (tests, scripts) may be needed
SOURCES = ("pyproject.toml", "setup.py", "MANIFEST.in", "requirements.txt", "README.md", "haema")


@pytest.fixture(scope="module")
def venv(tmp_path_factory):
    work = tmp_path_factory.mktemp("install")
    source = work / "source"
    source.mkdir()
    for name in SOURCES:
        if (pathlib.Path(REPO) / name).is_dir():
            shutil.copytree(pathlib.Path(REPO) / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copyfile(pathlib.Path(REPO) / name, source / name)
    env = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(env)], check=True, timeout=120)
    subprocess.run([str(env / "bin" / "python"), "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
                    "--disable-pip-version-check", str(source)], check=True, timeout=300, capture_output=True)
    return env


def test_the_installed_package_is_the_venvs_own(venv):
    where = subprocess.run([str(venv / "bin" / "python"), "-P", "-c", "import haema.cli, haema.web; "
                            "print(haema.cli.__file__); print(haema.web.STATIC_DIR)"],
                           capture_output=True, text=True, check=True, timeout=60).stdout.split()
    assert all(path.startswith(str(venv)) for path in where)
    assert (venv / "bin" / "haema").exists()


def test_help_lists_the_options(venv):
    result = subprocess.run([str(venv / "bin" / "haema"), "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "--target-path" in result.stdout and "--add-user" in result.stdout


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    """One short film, laid out as a library."""
    root = tmp_path_factory.mktemp("library")
    film = root / "Movies" / "Lean (2020)" / "Lean (2020).mp4"
    film.parent.mkdir(parents=True)
    make_clip(film, seconds=4, width=320, height=240)
    return root


def test_the_installed_command_serves_a_library(venv, library, tmp_path):
    with running_server(library, str(tmp_path), program=[str(venv / "bin" / "haema")]) as server:
        play_first_segment(server.url)


def play_first_segment(url):
    """The API, master playlist, first variant, its init section and first segment, as a
    player fetches them; the segment must decode with PyAV. Returns the frames decoded."""
    status, shows = request(f"{url}/api/v1/shows")
    assert status == 200 and shows, shows
    base = f"{url}/api/v1/video/{shows[0]['info']['id']}"
    master = _get(f"{base}/master.m3u8").decode()
    variant = re.search(r"^([^#\s]\S*\.m3u8)$", master, re.M).group(1)
    folder = variant.rsplit("/", 1)[0] + "/" if "/" in variant else ""
    playlist = _get(f"{base}/{variant}").decode()
    init = re.search(r'#EXT-X-MAP:URI="([^"]+)"', playlist)
    first = next(line for line in playlist.splitlines() if line and not line.startswith("#"))
    data = (_get(f"{base}/{folder}{init.group(1)}") if init else b"") + _get(f"{base}/{folder}{first}")
    with av.open(io.BytesIO(data)) as container:
        frames = sum(1 for _ in container.decode(video=0))
    assert frames > 0
    return frames


def _get(url):
    with urllib.request.urlopen(url, timeout=120) as response:
        assert response.status == 200, url
        return response.read()
