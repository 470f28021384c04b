"""GStreamer (``gst-launch-1.0 playbin``, the HLS stack of many Linux TVs and set-top
boxes) plays the ``hvc1`` copy variant of an HEVC film, 8-bit and 10-bit, to its last
frame: the init section, the hvc1 sample entry and every fragment are read as a real
player reads them. Skipped where GStreamer is not installed."""
import re
import shutil
import subprocess

import pytest

from harness.clips import make_clip
from harness.server import running_server

GST = shutil.which("gst-launch-1.0")
pytestmark = pytest.mark.skipif(GST is None, reason="no gst-launch-1.0 (Debian: gstreamer1.0-tools)")

FILMS = {"River (2018).mkv": dict(pix_fmt="yuv420p10le", audio_codec="ac3"), "Delta (2017).mp4": {}}
FRAMES = 8 * 24


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("gstreamer") / "media"
    (root / "Movies").mkdir(parents=True)
    for name, options in FILMS.items():
        make_clip(root / "Movies" / name, seconds=8, width=320, height=180, fps=24, gop=24, video_codec="libx265",
                  **options)
    with running_server(root, str(tmp_path_factory.mktemp("gstreamer_server"))) as server:
        yield server


@pytest.mark.parametrize("title, depth", [("river", 10), ("delta", 8)])
def test_gstreamer_plays_the_hvc1_variant_to_the_end(server, title, depth):
    status, [show] = server.api(f"/api/v1/shows?search={title}")
    url = f"{server.url}/api/v1/video/{show['info']['id']}/original/stream.m3u8"
    result = subprocess.run([GST, "-v", "playbin", f"uri={url}", "video-sink=fakesink sync=false silent=false",
                             "audio-sink=fakesink sync=false"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert f"stream-format=(string)hvc1" in result.stdout and f"bit-depth-luma=(uint){depth}" in result.stdout
    shown = re.findall(r"chain.*?pts: (\d+):(\d+):([\d.]+)", result.stdout)
    seconds = [int(h) * 3600 + int(m) * 60 + float(s) for h, m, s in shown]
    assert len(seconds) == FRAMES, "frames lost or shown twice"
    assert max(seconds) - min(seconds) == pytest.approx((FRAMES - 1) / 24, abs=0.002), "did not reach the end"
