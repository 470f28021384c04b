"""The cost per viewer in a real browser: hls.js in Debian's Chromium plays a VP9 WebM
and an AV1 film (both with Opus) from their copy variants, in fMP4, to the end, and the
encoder processes spend at most 2% of the video's duration in CPU time doing it (read
from /proc). Stock hls.js and Shaka Player, with none of the web player's choices, start
on the copy too. (HEVC's fallback to H.264 is test_browser_hls's: asking this headless Chromium
about HEVC Main profile sometimes spins it at full CPU for good.)
"""
import os
import re
import urllib.request

import pytest

from harness.clips import make_clip
from harness.processes import children, cpu_seconds
from harness.server import running_server
from .test_browser_hls import HLS, VIDEO, open_and_play, page, play_to_the_end, seek_to_middle  # noqa: F401
from .test_browser_hls import video_id
from .test_players import SHAKA

pytestmark = pytest.mark.skipif(not os.path.exists("/proc/self/stat"), reason="CPU time is read from /proc")

CPU_SHARE = 0.02  # encoder CPU time per second of video a copy may cost
SECONDS = 30


@pytest.fixture(scope="module")
def copy_library(tmp_path_factory):
    root = tmp_path_factory.mktemp("browser_copy") / "media"
    movies = root / "Movies"
    movies.mkdir(parents=True)
    common = dict(width=640, height=360, fps=12, gop=24, audio_codec="libopus")
    make_clip(movies / "Meadow (2019).webm", seconds=SECONDS, video_codec="libvpx-vp9", **common)
    make_clip(movies / "Glacier (2022).mkv", seconds=SECONDS, video_codec="libsvtav1", **common)
    make_clip(movies / "Canyon (2020).mp4", seconds=8, video_codec="libx265", width=640, height=360, fps=12, gop=24)
    # played first, so the encoder processes are running before anything is measured
    make_clip(movies / "Warmup (2000).mp4", seconds=2, width=192, height=108)
    return root


@pytest.fixture(scope="module")
def server(copy_library, tmp_path_factory):
    with running_server(copy_library, str(tmp_path_factory.mktemp("browser_copy_server"))) as server:
        yield server


def encoder_cpu_seconds(server):
    """CPU time of the server's child processes (the encoder pool)."""
    return sum(cpu_seconds(pid) or 0 for pid in children(server.process.pid))


def warm_up(server):
    """Start every encoder process (a new video goes to the least busy one), so the
    measurement holds what a viewer costs, not the processes' start."""
    for title in ("warmup", "canyon"):
        status, [show] = server.api(f"/api/v1/shows?search={title}")
        base = f"{server.url}/api/v1/video/{show['info']['id']}"
        with urllib.request.urlopen(f"{base}/master.m3u8") as master:
            variant = [line for line in master.read().decode().splitlines() if line.endswith(".m3u8")][0]  # a copy
        with urllib.request.urlopen(f"{base}/{variant}") as playlist:
            first = [line for line in playlist.read().decode().splitlines() if line[:1].isdigit()][0]
        urllib.request.urlopen(f"{base}/{variant.rsplit('/', 1)[0]}/{first}").read()


@pytest.mark.parametrize("title, codec", [("meadow", "vp09"), ("glacier", "av01")])
def test_a_browser_that_decodes_the_source_plays_its_copy(page, server, title, codec):  # noqa: F811
    warm_up(server)
    before = encoder_cpu_seconds(server)
    viewer = open_and_play(page, server, title)
    levels = viewer.js(f"{HLS}.levels.map(level => [level.uri, level.videoCodec, level.audioCodec])")
    assert len({uri for uri, *_ in levels}) == len(levels), f"a video playlist listed twice: {levels}"
    playing = levels[viewer.js(f"{HLS}.currentLevel")]
    assert "/original/" in playing[0] and playing[1].startswith(codec) and playing[2] == "opus", playing
    seek_to_middle(viewer)
    play_to_the_end(viewer)
    assert viewer.js(f"{HLS}.levels[{HLS}.currentLevel].uri") == playing[0], "switched away from the copy"
    used = encoder_cpu_seconds(server) - before
    print(f"{title}: {used:.2f} s of encoder CPU for {SECONDS} s of video ({used / SECONDS:.1%})")
    assert used <= CPU_SHARE * SECONDS
    viewer.report()


# hls.js 1.7 with its defaults: no start level, so its start logic picks the codec set
STOCK_HLSJS = """async (url) => {
  const hls = new Hls();
  window.firstLevel = null;
  hls.on(Hls.Events.FRAG_LOADED, (event, {frag}) => {
    if (frag.type === "main" && window.firstLevel === null) window.firstLevel = hls.levels[frag.level].uri;
  });
  hls.loadSource(url);
  hls.attachMedia(document.querySelector("video"));
}"""
STOCK_SHAKA = """async (url) => {
  shaka.polyfill.installAll();
  const player = new shaka.Player();
  await player.attach(document.querySelector("video"));
  await player.load(url);
  const active = player.getVariantTracks().find(track => track.active);
  return [active.videoCodec, active.height];
}"""
# A start guess: hls.js leaves out every codec set that costs more than this at its
# cheapest, unless nothing is cheaper (abrEwmaDefaultEstimate).
HLSJS_START_ESTIMATE = 5_000_000


@pytest.mark.parametrize("player", ["hls.js", "shaka"])
@pytest.mark.parametrize("title, codec", [("meadow", "vp09"), ("glacier", "av01")])
def test_stock_players_start_on_the_copy(page, server, player, title, codec):  # noqa: F811
    """A player that is not Haema's, left to its own start logic, starts on the copy, not on
    the H.264 transcode at the same size that costs a core. Both players keep to the codec
    set they start with, so the start is the whole film.

    hls.js picks, among the codec sets whose cheapest variant fits its start guess, the
    preferred codec (AV1 and VP9 before H.264), so a copy declared above that guess
    (a 1080p film at more than 5 Mbit/s peak) starts on H.264 by hls.js's own rule.
    Shaka 5 keeps to the copy whatever the transcodes are declared at (tried with them at
    half the copy's rate)."""
    if player == "shaka" and not os.path.exists(SHAKA):
        pytest.skip(f"no Shaka Player at {SHAKA} (.ci/run installs it: npm install --prefix tests)")
    master = f"{server.url}/api/v1/video/{video_id(server, title)}/master.m3u8"
    with urllib.request.urlopen(master) as answer:
        listed = answer.read().decode()
    copy_rate = int(re.search(r':BANDWIDTH=(\d+),[^\n]*CODECS="' + codec, listed).group(1))
    assert copy_rate <= HLSJS_START_ESTIMATE  # else hls.js starts on H.264 by its own rule

    script = "/static/vendor/hls.min.js" if player == "hls.js" else "/shaka-player.js"
    page.route(f"{server.url}/stock.html", lambda route: route.fulfill(
        body=f'<!doctype html><video muted></video><script src="{script}"></script>', content_type="text/html"))
    page.route(f"{server.url}/shaka-player.js", lambda route: route.fulfill(path=SHAKA, content_type="text/javascript"))
    page.goto(f"{server.url}/stock.html")
    if player == "hls.js":
        page.evaluate(STOCK_HLSJS, master)
        page.wait_for_function("() => window.firstLevel !== null")
        assert "/original/" in page.evaluate("window.firstLevel")
    else:
        video_codec, height = page.evaluate(STOCK_SHAKA, master)
        assert video_codec.startswith(codec) and height == 360
