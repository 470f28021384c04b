"""The web process stays small: it serves and plans, and never loads the libraries
that decode, encode or guess (PyAV, numpy, guessit), which live in the encoder
workers and the scanning process."""
import re
import shutil
import subprocess
import sys
import urllib.request

from harness.clips import make_clip
from harness.server import running_server

MEDIA_LIBRARIES = ("av", "numpy", "guessit")


def test_importing_the_web_app_loads_no_media_library():
    script = ("import sys, haema.web; "
              f"print(sorted({{m.split('.')[0] for m in sys.modules if m.split('.')[0] in {MEDIA_LIBRARIES!r} and '.' in m}}))")
    # -P: the installed package, as the tests' server runs it, not the checkout
    loaded = subprocess.run([sys.executable, "-P", "-c", script], capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "[]"


def mapped_libraries(pid):
    with open(f"/proc/{pid}/maps") as maps:
        return {line.split()[-1] for line in maps if ".so" in line}


def test_playing_a_film_leaves_pyav_and_numpy_out_of_the_web_process(tmp_path):
    clip = tmp_path / "clip.mp4"
    make_clip(clip, seconds=4, width=640, height=480)
    film = tmp_path / "media" / "Movies" / "Lean (2020)" / "Lean (2020).mp4"
    film.parent.mkdir(parents=True)
    shutil.copyfile(clip, film)
    with running_server(tmp_path / "media", str(tmp_path)) as server:
        video_id = server.api("/api/v1/shows")[1][0]["info"]["id"]
        base = f"{server.url}/api/v1/video/{video_id}"
        master = get(f"{base}/master.m3u8").decode()
        # every playlist (variants, I-frames, seek previews) and the first piece of each
        playlists = re.findall(r'^([^#\s]\S*\.m3u8)$', master, re.M) + re.findall(r'URI="([^"]+\.m3u8)"', master)
        assert len(playlists) >= 4
        for playlist in playlists:
            text = get(f"{base}/{playlist}").decode()
            first = next(line for line in text.splitlines() if line and not line.startswith("#"))
            get(f"{base}/{playlist.rsplit('/', 1)[0]}/{first}")
        get(f"{base}/trickplay/thumbnails.vtt")
        libraries = mapped_libraries(server.process.pid)
    assert not [name for name in libraries if "libavcodec" in name or "_multiarray_umath" in name]


def get(url):
    with urllib.request.urlopen(url, timeout=60) as response:
        return response.read()
