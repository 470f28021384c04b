"""Real players on every kind of file: each starts, switches quality, seeks and plays to the end.

The matrix is KINDS (one line per kind of file) × four players:
- hls.js, in Haema's own web player in Chromium;
- Shaka Player in Chromium (the HLS engine of Chromecast's receiver and many TV apps),
  from npm (``.ci/run`` installs it into tests/node_modules);
- GStreamer's playbin3 (tests/gst_player.py, run with Debian's python3 and PyGObject);
- ffmpeg reading the master URL.

A clean playback is one without a single error event, fatal or not, and with the video
ending where the playlist says it ends. The clips are tiny (5 s, 640x480 at 12 fps); the
browsers play in real time (at twice that, on-demand transcodes on a busy 2-core machine
fell behind, and a stall is an error event), GStreamer and ffmpeg as fast as they decode.
One server and one Chromium serve the module.
Skipped only where a player is not installed.
"""
import dataclasses
import fractions
import json
import os
import re
import shutil
import subprocess
import time
import urllib.request

import pytest

from haema.segment.clock import OUTPUT_ORIGIN

from harness.chromium import AUTOPLAY, CHROMIUM, launched
from harness.clips import make_clip
from harness.server import running_server
from .test_browser import STATE, TIMEOUT
from .test_browser_hls import WATCH

HERE = os.path.dirname(os.path.abspath(__file__))
SHAKA = os.path.join(HERE, "node_modules", "shaka-player", "dist", "shaka-player.compiled.js")
DEBIAN_PYTHON = "/usr/bin/python3"  # has python3-gi; the tests' interpreter may not


@dataclasses.dataclass(frozen=True)
class Kind:
    """A kind of file: its title in the library (a plain word guessit leaves alone), its
    container, and make_clip options. ``keep`` < 1 cuts a faststart MP4 short."""

    name: str
    title: str
    extension: str
    options: dict = dataclasses.field(default_factory=dict)
    keep: float = 1.0

    @property
    def relpath(self):
        return f"Movies/{self.title} (2000)/{self.title} (2000).{self.extension}"


# Sources are 640x480, so a copyable one has "original" and 360p to switch between.
KINDS = [
    Kind("h264-aac-mp4", "Alder", "mp4"),
    Kind("h264-ac3-mkv", "Birch", "mkv", {"audio_codec": "ac3"}),
    Kind("hevc-10bit-transcoded", "Cedar", "mkv", {"video_codec": "libx265", "pix_fmt": "yuv420p10le"}),
    Kind("two-audio-tracks", "Dogwood", "mp4", {"audio_tracks": 2}),
    Kind("no-audio", "Elm", "mp4", {"audio_codec": None}),
    Kind("10s-gop", "Fir", "mp4", {"seconds": 12, "gop": 120}),
    Kind("vfr-phone", "Ginkgo", "mp4", {"vfr": True}),
    Kind("open-gop", "Hazel", "mkv", {"options": {"x264-params": "scenecut=0:open-gop=1"}}),
    Kind("truncated-mp4", "Ironwood", "mp4", {"seconds": 8, "container_options": {"movflags": "+faststart"}}, 0.6),
    # fMP4: the source's own codec copied, its Opus untouched beside AAC
    Kind("vp9-opus-webm", "Kapok", "webm", {"video_codec": "libvpx-vp9", "audio_codec": "libopus"}),
    Kind("av1-opus-mkv", "Linden", "mkv", {"video_codec": "libsvtav1", "audio_codec": "libopus"}),
]


# Beside the matrix: a file cut short after the scan, and one for a slow link, whose
# "original" (x264 CRF 8, about 5 Mbit/s) is above the link and whose 360p fits in it.
CUT_AFTER_SCAN = Kind("cut-after-scan", "Juniper", "mp4", {"container_options": {"movflags": "+faststart"}})
SLOW_LINK = Kind("slow-link", "Larch", "mp4", {"seconds": 16, "bframes": 0, "options": {"crf": "8"}})


def make_kind(path, kind):
    options = {"seconds": 5, "width": 640, "height": 480, "fps": 12, "gop": 24, **kind.options}
    make_clip(path, **options)
    if kind.keep < 1:
        data = path.read_bytes()
        path.write_bytes(data[: int(len(data) * kind.keep)])


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    root = tmp_path_factory.mktemp("players") / "media"
    for kind in [*KINDS, CUT_AFTER_SCAN, SLOW_LINK]:
        path = root / kind.relpath
        path.parent.mkdir(parents=True)
        make_kind(path, kind)
    return root


@pytest.fixture(scope="module")
def server(library, tmp_path_factory):
    with running_server(library, str(tmp_path_factory.mktemp("players_server"))) as server:
        yield server


@dataclasses.dataclass(frozen=True)
class Stream:
    """What the server says about one video: its master URL and its variants."""

    video_id: str
    master: str
    duration: float  # of the playlists, which is where every player must end
    heights: tuple  # of the variants, as listed
    boundaries: tuple  # per variant: segment start times, then the end
    names: tuple  # of the variants, as in their URLs


def stream(server, kind):
    status, shows = server.api(f"/api/v1/shows?search={kind.title}")
    assert status == 200 and len(shows) == 1, shows
    video_id = shows[0]["info"]["id"]
    master = f"{server.url}/api/v1/video/{video_id}/master.m3u8"
    text = _text(master)
    # the variants, once each (an fMP4 one is listed once per audio group); not the
    # I-frame and image playlists
    variants = list(dict.fromkeys(re.findall(r"^#EXT-X-STREAM-INF:.*RESOLUTION=\d+x(\d+).*\n(\S+)/stream\.m3u8$",
                                             text, re.M)))  # (height, name)
    heights = tuple(int(height) for height, _ in variants)
    boundaries = []
    for _, name in variants:
        playlist = _text(f"{server.url}/api/v1/video/{video_id}/{name}/stream.m3u8")
        times = [0.0]
        for extinf in re.findall(r"#EXTINF:([\d.]+),", playlist):
            times.append(times[-1] + float(extinf))
        boundaries.append(tuple(times))
    return Stream(video_id, master, boundaries[0][-1], heights, tuple(boundaries),
                  tuple(name for _, name in variants))


def _text(url):
    with urllib.request.urlopen(url, timeout=60) as response:
        return response.read().decode()


def kinds():
    return pytest.mark.parametrize("kind", KINDS, ids=[kind.name for kind in KINDS])


def test_the_scan_leaves_no_zombie(server):
    """The scan runs in a process of its own; once done it must have been reaped."""
    children = subprocess.run(["ps", "-o", "stat=,comm=", "--ppid", str(server.process.pid)],
                              capture_output=True, text=True).stdout.split("\n")
    assert [line for line in children if line.strip().startswith("Z")] == []


# ---------------------------------------------------------------------------
# Chromium: hls.js in Haema's web player, and Shaka Player


@pytest.fixture(scope="module")
def browser():
    """conftest's, but playing without a click: nothing here clicks play."""
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"no Chromium at {CHROMIUM}")
    with launched(AUTOPLAY) as browser:
        yield browser


@pytest.fixture
def page(browser, server):
    """A page that records JavaScript errors and any answer of the server in the 5xx range."""
    page = browser.new_page(viewport={"width": 960, "height": 540})
    page.set_default_timeout(TIMEOUT)
    page.failures = []
    page.on("pageerror", lambda error: page.failures.append(f"JavaScript: {error}"))
    page.on("response", lambda r: r.status >= 500 and page.failures.append(f"HTTP {r.status} {r.url}"))
    yield page
    page.close()
    assert page.failures == []


ERRORS = "(window.haemaLog || window.shakaLog || {}).errors"


GAVE_UP = "document.querySelector('.overlay .message.error')"  # the web player's last word


def wait(page, server, condition, what):
    """Until ``condition`` holds in the page; fails when the web player has given up, as
    nothing it waits for comes then, or after the page's default timeout."""
    from playwright.sync_api import TimeoutError

    try:
        # a bare expression needs eval: the CSP says no
        page.wait_for_function(f"() => ({condition}) || {GAVE_UP}")
        if not page.evaluate(f"() => !!({condition})"):
            raise TimeoutError(f"the player says: {page.locator('.overlay .message.error').inner_text()}")
    except TimeoutError as error:
        log = server.log().splitlines()[-15:]
        pytest.fail(f"no {what} ({condition}): {error}\npage: {page.evaluate(STATE)}\n"
                    f"player errors: {page.evaluate(ERRORS)}\n"
                    "server log:\n" + "\n".join(log))


def farthest(heights, playing):
    """The variant farthest in height from the one playing: a switch that shows."""
    return max(range(len(heights)), key=lambda index: abs(heights[index] - heights[playing]))


VIDEO = "window.haemaPlayer.video"
HLS = "window.haemaPlayer.hls"


def play_from_start(page, server, info):
    """Haema's web player on the video, as a viewer who never chose a quality, watched (WATCH), until it plays."""
    server.forget_choices()
    page.add_init_script(WATCH)
    page.goto(f"{server.url}/#/play/{info.video_id}?from=start")
    wait(page, server, f"window.haemaPlayer && {HLS} && {HLS}.levels.length > 0", "the master playlist")
    wait(page, server, f"{VIDEO}.currentTime > 0.5", "playback to start")


@kinds()
def test_hlsjs(page, server, kind):
    """Haema's web player: start, switch in the quality menu, seek, play to the end."""
    info = stream(server, kind)
    play_from_start(page, server, info)

    heights = page.evaluate(f"{HLS}.levels.map(level => level.height)")
    if len(heights) > 1:
        target = farthest(heights, page.evaluate(f"{HLS}.currentLevel"))
        page.select_option("#quality", str(target))
        # the new quality starts with the next segment of the one playing, if there is one
        # (a file of one segment, as the truncated one, has none)
        if len(playing_segments(page, info)) > 2:
            wait(page, server, f"{HLS}.currentLevel === {target} && {VIDEO}.videoHeight === {heights[target]}",
                 f"frames at {heights[target]}p")

    middle = info.duration / 2
    page.evaluate(f"{VIDEO}.currentTime = {middle}")
    wait(page, server, f"!{VIDEO}.seeking && {VIDEO}.currentTime > {middle + 0.3}", "playing after the seek")
    wait(page, server, "window.haemaLog.ended > 0", "the ended event")

    assert page.evaluate(f"{VIDEO}.currentTime") >= info.duration - 0.1
    assert page.evaluate("window.haemaLog.errors") == []
    assert page.locator(".overlay .message.error").count() == 0


def playing_segments(page, info):
    """Boundaries of the variant hls.js plays now."""
    name = page.evaluate(f"{HLS}.levels[{HLS}.currentLevel].uri").split("/")[-2]
    return info.boundaries[info.names.index(name)]


NO_AUDIO = next(kind for kind in KINDS if kind.name == "no-audio")
SLOW_VARIANT = 1.5  # s: each segment of a transcoded variant takes this long, as on a busy server


def test_web_player_switches_quality_without_a_stall(page, server):
    """Regression: the quality menu switched at once, which empties the buffer; Chromium
    does not decode the new variant's segment from its keyframe before the playhead, so the
    picture waited for the segment after it, and the video without sound stopped with a
    second "buffered" ahead (hls.js: bufferStalledError) whenever that segment came late.
    Here every segment of a transcoded variant comes late; the one playing must play out."""
    info = stream(server, NO_AUDIO)
    page.route(re.compile(r".*/\d+\.(ts|m4s)$"), _slow_transcodes)
    play_from_start(page, server, info)

    heights = page.evaluate(f"{HLS}.levels.map(level => level.height)")
    target = farthest(heights, page.evaluate(f"{HLS}.currentLevel"))
    assert "/original/" in page.evaluate(f"{HLS}.levels[{HLS}.currentLevel].uri")  # a transcode is the target
    page.select_option("#quality", str(target))
    wait(page, server, f"{HLS}.currentLevel === {target} && {VIDEO}.videoHeight === {heights[target]}",
         f"frames at {heights[target]}p")
    wait(page, server, "window.haemaLog.ended > 0", "the ended event")
    assert page.evaluate("window.haemaLog.errors") == []


OPEN_GOP = next(kind for kind in KINDS if kind.name == "open-gop")


def test_a_seek_chromium_cannot_decode_in_the_copy_goes_on_transcoded(page, server):
    """Chromium cannot start decoding at an open GOP's keyframe, whose leading B-frames
    refer to the GOP before (crbug.com/40625346): a seek into the copy stops the video
    element with a decode error that hls.js does not report. The web player moves to a
    transcoded quality and plays on from there to the end, with no message."""
    info = stream(server, OPEN_GOP)
    play_from_start(page, server, info)
    assert "/original/" in page.evaluate(f"{HLS}.levels[{HLS}.currentLevel].uri")
    middle = info.duration / 2
    page.evaluate(f"{VIDEO}.currentTime = {middle}")
    wait(page, server, f"!{VIDEO}.seeking && {VIDEO}.currentTime > {middle + 0.3}", "playing after the seek")
    wait(page, server, "window.haemaLog.ended > 0", "the ended event")
    assert page.evaluate(f"{VIDEO}.currentTime") >= info.duration - 0.1
    assert page.locator(".overlay .message.error").count() == 0
    # The decode error leaves the element in error until the player's recovery; an append
    # that comes first is refused, and hls.js says so, non-fatal, and resets the media
    # source itself (about one run in three, at session start too). Anything else fails.
    errors = page.evaluate("window.haemaLog.errors")
    assert [e for e in errors if e["fatal"] or e["details"] != "mediaSourceRequiresReset"] == [], errors
    # should Chromium mend its bug, this fails, and the fallback's reason is gone
    assert page.evaluate("window.haemaPlayer.leftTheCopy"), "the copy played on after the seek"
    assert "/original/" not in page.evaluate(f"{HLS}.levels[{HLS}.currentLevel].uri")


def _slow_transcodes(route):
    if "/original/" not in route.request.url:
        time.sleep(SLOW_VARIANT)
    route.continue_()


def test_web_player_on_a_file_cut_short_since_its_scan(page, server, library):
    """The index still promises the whole file, whose size is no longer the one scanned:
    the server says so (410: rescan), and the player shows it in the server's words: no
    endless "Loading…", no 500, and the video does not count as watched."""
    info = stream(server, CUT_AFTER_SCAN)
    path = library / CUT_AFTER_SCAN.relpath
    stat = os.stat(path)
    os.truncate(path, stat.st_size * 4 // 10)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))

    page.add_init_script(WATCH)
    page.goto(f"{server.url}/#/play/{info.video_id}?from=start")
    wait(page, server, "document.querySelector('.overlay .message.error')", "the error message")
    assert "changed since the last scan" in page.locator(".overlay .message.error").inner_text()
    page.wait_for_timeout(500)  # anything the player would still save on its way out
    status, progress = server.api(f"/api/v1/video/{info.video_id}/progress")
    assert status == 404 or not progress["finished"], progress


SLOW_WATCH = """
window.slowLog = {waiting: [], switched: [], errors: []};
window.addEventListener("haemaplayer", ({detail: player}) => {
  const log = window.slowLog, video = player.video, Events = window.Hls.Events;
  video.addEventListener("waiting", () => log.waiting.push(video.currentTime));
  player.hls.on(Events.LEVEL_SWITCHED, (event, data) => log.switched.push([video.currentTime, data.level]));
  player.hls.on(Events.ERROR, (event, data) => log.errors.push([video.currentTime, data.details]));
});
"""
SLOW_LINK_BITS = 3_000_000


def test_auto_settles_on_a_slow_link(page, server):
    """3 Mbit/s (Chromium's own throttling): from 10 s of the video on, Auto plays one
    variant that fits the link, without a stall, a switch or an error. Times are the
    video's own, so a slow machine makes the test slower, not wrong."""
    info = stream(server, SLOW_LINK)
    bandwidths = [int(b) for b in re.findall(r"[:,]BANDWIDTH=(\d+)", _text(info.master))]
    assert max(bandwidths) > SLOW_LINK_BITS > min(bandwidths)  # there is a wrong choice to make
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", {"offline": False, "latency": 20,
                                                   "downloadThroughput": SLOW_LINK_BITS / 8,
                                                   "uploadThroughput": SLOW_LINK_BITS / 8})
    page.add_init_script(SLOW_WATCH)
    page.goto(f"{server.url}/#/play/{info.video_id}?from=start")
    wait(page, server, f"window.haemaPlayer && {VIDEO}.currentTime > {info.duration - 1}", "the last second")

    log = page.evaluate("window.slowLog")
    settled = 10
    assert [t for t in log["waiting"] if t > settled] == []
    assert [s for s in log["switched"] if s[0] > settled] == []
    assert [e for e in log["errors"] if e[0] > settled] == []
    level = page.evaluate(f"{HLS}.levels[{HLS}.currentLevel].bitrate")
    assert level < SLOW_LINK_BITS, log
    print(f"slow link: {log}, playing {level} bit/s")


SHAKA_PAGE = """<!doctype html><meta charset="utf-8"><title>Shaka</title>
<video muted playsinline style="width: 640px"></video>
<script src="/shaka-player.js"></script>
<script>
window.shakaLog = {errors: [], ended: 0};
window.startShaka = async (url) => {
  shaka.polyfill.installAll();
  const video = document.querySelector("video");
  video.addEventListener("ended", () => { window.shakaLog.ended += 1; });
  const player = new shaka.Player();
  window.shakaPlayer = player;
  player.addEventListener("error", ({detail}) => window.shakaLog.errors.push(
    {severity: detail.severity, category: detail.category, code: detail.code, data: String(detail.data)}));
  await player.attach(video);
  await player.load(url);
  await video.play();
};
</script>"""


@pytest.fixture
def shaka_page(page, server):
    """A page of the server's own origin (so the playlists are same-origin) with Shaka on it."""
    if not os.path.exists(SHAKA):
        pytest.skip(f"no Shaka Player at {SHAKA} (.ci/run installs it: npm install --prefix tests)")
    page.route(f"{server.url}/shaka.html", lambda route: route.fulfill(body=SHAKA_PAGE, content_type="text/html"))
    page.route(f"{server.url}/shaka-player.js", lambda route: route.fulfill(path=SHAKA,
                                                                             content_type="text/javascript"))
    page.goto(f"{server.url}/shaka.html")
    return page


@kinds()
def test_shaka(shaka_page, server, kind):
    """Shaka Player: start, select the farthest variant by hand, seek, play to ``ended``."""
    page, info = shaka_page, stream(server, kind)
    page.evaluate("url => window.startShaka(url)", info.master)
    video = "document.querySelector('video')"
    wait(page, server, f"{video}.currentTime > 0.5", "playback to start")

    tracks = page.evaluate("window.shakaPlayer.getVariantTracks().map(t => ({id: t.id, height: t.height, "
                           "active: t.active}))")
    heights = sorted({track["height"] for track in tracks})
    if len(heights) > 1:
        playing = next(track for track in tracks if track["active"])
        target = max(tracks, key=lambda track: abs(track["height"] - playing["height"]))
        page.evaluate("""id => {
            const player = window.shakaPlayer;
            player.configure("abr.enabled", false);
            player.selectVariantTrack(player.getVariantTracks().find(t => t.id === id), true);
        }""", target["id"])
        wait(page, server, f"{video}.videoHeight === {target['height']}", f"frames at {target['height']}p")

    middle = info.duration / 2
    page.evaluate(f"{video}.currentTime = {middle}")
    wait(page, server, f"!{video}.seeking && {video}.currentTime > {middle + 0.3}", "playing after the seek")
    wait(page, server, "window.shakaLog.ended > 0", "the ended event")

    assert page.evaluate(f"{video}.currentTime") >= info.duration - 0.1
    assert page.evaluate("window.shakaLog.errors") == []


# ---------------------------------------------------------------------------
# GStreamer and ffmpeg


def _gstreamer_ready():
    if not os.path.exists(DEBIAN_PYTHON):
        return False
    check = subprocess.run([DEBIAN_PYTHON, "-c", "import gi; gi.require_version('Gst', '1.0')"],
                           capture_output=True)
    return check.returncode == 0


# A copy in its own codec (fMP4: VP9, AV1, HEVC) has no smaller variant of that codec,
# so a switch down from it goes to H.264, and GStreamer 1.22's hlsdemux2 cannot switch
# codecs: it feeds the avc1 init section to the track's qtdemux, whose new H.264 caps the
# vp9parse (h265parse, av1parse) linked behind it refuses ('not-negotiated'). Valid HLS:
# two variants made by ffmpeg's own `-f hls -hls_segment_type fmp4` (VP9 copy, libx264)
# fail alike, and a VP9 -> VP9 switch plays on. The transcode at the copy's size costs
# what the copy does (hls.plan_variants), and at that tie hlsdemux2 starts on either;
# so on these kinds test_gstreamer keeps the link fast, and checks the switch down only
# where every variant is H.264.


ONE_FRAME = 1 / 12  # of every clip (make_kind)
LONGEST_FRAME = 1.2 * ONE_FRAME  # of the variable-rate clip (clips.make_clip)


def _gst_play(server, info, first_kbps, then_kbps):
    """gst_player.py on ``info``'s master: its result, checked for what every run must
    show (no error or warning, both ends reached, every frame of the first variant)."""
    run = subprocess.run([DEBIAN_PYTHON, os.path.join(HERE, "gst_player.py"), info.master, str(info.duration / 2),
                          str(first_kbps), str(then_kbps)], capture_output=True, text=True, timeout=180,
                         env={**os.environ, "GST_DEBUG": "2"})  # GStreamer's own warnings, for a failure
    assert run.returncode == 0, run.stderr[-2000:]
    result = json.loads(run.stdout)
    if result["errors"] or result["warnings"]:  # all of it, as an assert's message would be cut short
        video_requests = [line for line in server.log().splitlines() if info.video_id in line]
        pytest.fail(f"GStreamer: errors {result['errors']}, warnings {result['warnings']}\n"
                    f"its log:\n{run.stderr[-4000:]}\nthe server's lines on the video:\n"
                    + "\n".join(video_requests[-40:]))
    whole, after_seek = result["phases"]["to_end"], result["phases"]["after_seek"]
    assert whole["eos"] and after_seek["eos"]
    # every frame; the timeline starts at GStreamer's own origin
    assert whole["last"] - whole["first"] == pytest.approx(info.duration - ONE_FRAME, abs=0.6 * ONE_FRAME)
    return result


# GStreamer 1.22's hlsdemux2 places each TS segment by its first decode time, taken to
# lead the playlist time by the same B-frame delay in every segment. Haema's first segment
# has that lead moved away (for hls.js, segment.video.VideoOpening), so once the second is
# played hlsdemux2 puts the first before zero, and a seek into it fails ("Seeking failed")
# and restarts from zero: where a key-unit seek into the first segment lands anyway. In
# about 1 of 250 such seeks (4 of 920 plays, and 3 of 920 without the copy worker's heap
# setting: the same wrong values each time) that restart misplaces the rest of the
# timeline by seconds, or (once, in CI) crashes. Giving the first segment its lead back
# brings back hls.js's hole at every start; taking it from every segment opens a gap at
# each join, which hls.js closes by moving that segment's first picture. So the test
# runs once more.
@pytest.mark.flaky(reruns=1)
@kinds()
def test_gstreamer(server, kind, request):
    """playbin3: from the highest variant to the end; then a slower link, a seek to the
    middle and the end again, on the lowest variant from the next segment on."""
    if not _gstreamer_ready():
        pytest.skip("no GStreamer for Python (python3-gi, gir1.2-gstreamer-1.0)")
    info = stream(server, kind)
    top = max(int(b) for b in re.findall(r"[:,]BANDWIDTH=(\d+)", _text(info.master)))
    # ten times the highest bandwidth, then 1 kbit/s (nothing fits: the lowest), but
    # never down from a copy in its own codec (above)
    copy_alone = kind.name in COPIED_CODECS
    result = _gst_play(server, info, top // 100, top // 100 if copy_alone else 1)
    whole, after_seek = result["phases"]["to_end"], result["phases"]["after_seek"]
    assert whole["heights"] == [max(info.heights)]
    # The seek lands on a keyframe at or before the middle, and plays on to the same end.
    # hlsdemux2 maps a variant's clock once, from its first segment's clock reference
    # (PCR, which follows the decode times), and the first segment's decode times are
    # moved up to its first picture for hls.js (segment.video.VideoOpening): a variant it
    # switches to later is placed up to the B-frame delay (at most 3 frames) apart.
    switched = len(set(after_seek["heights"]) | set(whole["heights"])) > 1
    lag = (3 if switched else 0.6) * ONE_FRAME
    assert whole["first"] - lag <= after_seek["first"] <= whole["first"] + info.duration / 2 + lag
    assert after_seek["last"] == pytest.approx(whole["last"], abs=lag)
    if not copy_alone and len(info.heights) > 1 and info.boundaries[0][-2] > info.duration / 2:
        assert switched and min(info.heights) in after_seek["heights"]  # a segment after the seek's


# The kinds whose copy keeps the source's codec in fMP4, and what GStreamer's decoder for
# it is named after. test_gstreamer never plays the HEVC and AV1 copies (hlsdemux2 1.22
# ranks variants by AVERAGE-BANDWIDTH, and takes the H.264 transcode at the copy's size
# at their tie), and the VP9 one only up to its failing switch.
COPIED_CODECS = {"hevc-10bit-transcoded": "h265", "vp9-opus-webm": "vp9", "av1-opus-mkv": "av1"}


# Once in eight full runs with the suite in two processes (2026-11-28), hlsdemux2 gave
# up on the HEVC copy ("Couldn't download fragments"), while the server logged no failed
# request; 6 runs of this file beside the heaviest others did not bring it back. So it
# runs once more, and a failure prints GStreamer's log and the server's lines on the
# video, to find the cause by.
@pytest.mark.flaky(reruns=1)
@pytest.mark.parametrize("kind", [kind for kind in KINDS if kind.name in COPIED_CODECS],
                         ids=[kind.name for kind in KINDS if kind.name in COPIED_CODECS])
def test_gstreamer_on_the_copy(server, kind):
    """playbin3 on the copy variant's own playlist, in the source's own codec: start,
    play to the end, seek to the middle and play to the end again, without a switch (a
    switch to another codec is GStreamer 1.22's failure, above). Through the
    master, hlsdemux2 takes the transcode at the copy's size, which costs the same."""
    if not _gstreamer_ready():
        pytest.skip("no GStreamer for Python (python3-gi, gir1.2-gstreamer-1.0)")
    info = stream(server, kind)
    info = dataclasses.replace(info, master=info.master.replace("master.m3u8", "original/stream.m3u8"))
    result = _gst_play(server, info, 100_000, 100_000)
    assert result["video_decoders"] and all(COPIED_CODECS[kind.name] in name for name in result["video_decoders"])
    whole, after_seek = result["phases"]["to_end"], result["phases"]["after_seek"]
    lag = 0.6 * ONE_FRAME
    assert whole["first"] - lag <= after_seek["first"] <= whole["first"] + info.duration / 2 + lag
    assert after_seek["last"] == pytest.approx(whole["last"], abs=lag)


# Debian's ffmpeg (5.1) cannot start a fragmented-MP4 HLS stream from its middle, and not
# Haema's alone: ffmpeg's own `-f hls -hls_segment_type fmp4` output, served as files, fails
# the same way ('Invalid NAL unit size' from a libx264 variant; from a copied one with
# audio, no frame at all and "Output file is empty"), as does Apple's reference fMP4
# stream in mpv (mpv issue 15184, sent upstream to FFmpeg). After the seek the mov
# demuxer reads the new segment's samples at wrong offsets. Newer FFmpeg re-sends the
# init section after a seek: PyAV's FFmpeg 8.1 decodes Haema's fMP4 from the middle
# without a decoding error (it warns of the repeated moov), but drops the video of the
# segment sought into (FFMPEG_LATER_SEGMENT, below), and does so on ffmpeg's own fMP4
# output too. Strict, so a fixed ffmpeg shows.
FFMPEG_FMP4_SEEK = ("Debian's ffmpeg 5.1 cannot seek in fMP4 HLS (ffmpeg's own -hls_segment_type fmp4 "
                    "output fails alike): it reads the samples after the seek at wrong offsets")


@dataclasses.dataclass(frozen=True)
class Decoded:
    """What ffmpeg made of a master: its complaints, and for each stream it decoded
    (videos first, then audio) the time of its first frame and the end of its last, in
    seconds on the server's own timeline (``-copyts``). The tests hold the ends to the
    playlist's end only at their latest: the truncated file's audio ends 0.16 s before
    its video (and its playlist), a matter of that kind's own."""

    returncode: int
    complaints: str
    firsts: tuple
    ends: tuple


def _ffmpeg(master, *options):
    """ffmpeg decoding every variant and rendition of ``master`` (one program each).
    ``-enc_time_base -1``: frames keep the stream's clock; at the default 1/fps a
    variable-rate video's frames collide in ffmpeg's own output (not in its input).
    framecrc lists every frame with its time."""
    run = subprocess.run(["ffmpeg", "-nostdin", "-v", "warning", *options, "-copyts", "-i", master,
                          "-map", "0:v", "-map", "0:a?", "-enc_time_base", "-1", "-f", "framecrc", "-"],
                         capture_output=True, text=True, timeout=180)
    time_bases, firsts, ends = {}, {}, {}
    for line in run.stdout.splitlines():
        if line.startswith("#tb "):  # "#tb 0: 1/90000"
            index, time_base = line[len("#tb "):].split(": ")
            time_bases[int(index)] = fractions.Fraction(time_base)
        elif line and not line.startswith("#"):  # "index, dts, pts, duration, size, crc"
            index, _dts, pts, duration = (int(field) for field in line.split(",")[:4])
            firsts.setdefault(index, float(pts * time_bases[index]))
            ends[index] = max(ends.get(index, 0), float((pts + duration) * time_bases[index]))
    return Decoded(run.returncode, run.stderr.strip(), tuple(firsts[i] for i in sorted(firsts)),
                   tuple(ends[i] for i in sorted(ends)))


@kinds()
def test_ffmpeg(server, kind):
    """ffmpeg decodes every stream from the start to the end without a single complaint."""
    if not shutil.which("ffmpeg"):
        pytest.skip("no ffmpeg")
    info = stream(server, kind)
    decoded = _ffmpeg(info.master)
    assert decoded.returncode == 0 and decoded.complaints == "", decoded.complaints[-2000:]
    assert decoded.firsts == pytest.approx([OUTPUT_ORIGIN] * len(decoded.firsts), abs=ONE_FRAME / 2)
    assert max(decoded.ends) == pytest.approx(OUTPUT_ORIGIN + info.duration, abs=LONGEST_FRAME)


@kinds()
def test_ffmpeg_from_the_middle(server, kind, request):
    """ffmpeg seeks to the middle (``-ss``) and decodes every stream from there to the
    end without a complaint: its first frame is the one shown at the middle."""
    if not shutil.which("ffmpeg"):
        pytest.skip("no ffmpeg")
    info = stream(server, kind)
    if "#EXT-X-VERSION:7" in _text(info.master):  # fragmented MP4
        request.applymarker(pytest.mark.xfail(reason=FFMPEG_FMP4_SEEK, strict=True))
    middle = info.duration / 2
    decoded = _ffmpeg(info.master, "-ss", f"{middle:.3f}")
    assert decoded.returncode == 0 and decoded.complaints == "", decoded.complaints[-2000:]
    seek = OUTPUT_ORIGIN + round(middle, 3)  # -ss counts from the start; decoding up to it is trimmed
    assert decoded.firsts == pytest.approx([seek] * len(decoded.firsts), abs=LONGEST_FRAME)
    assert max(decoded.ends) == pytest.approx(OUTPUT_ORIGIN + info.duration, abs=LONGEST_FRAME)


# ffmpeg's HLS demuxer (mpv's too) puts segment N at the first packet's decode time plus
# the EXTINFs before N, and after a seek drops packets until a keyframe whose decode time
# reaches that. Haema moves the decode times of a file's first frames up to its first
# picture, for hls.js (segment.video.VideoOpening); with B-frames every later keyframe is
# decoded before it is shown, so its decode time falls short of its segment's place, and
# the seek skips to the next segment's keyframe, or, in the last segment, past the end:
# ffmpeg then decodes the audio alone, and says nothing. ffmpeg's own MPEG-TS HLS output
# (its first decode time before its first picture) seeks exactly. Strict, so a fix shows.
FFMPEG_LATER_SEGMENT = ("ffmpeg's seek skips the segment sought into when its keyframe's decode time "
                        "is before its place, which the first segment's moved-up decode times (for "
                        "hls.js) make it")


@pytest.mark.xfail(reason=FFMPEG_LATER_SEGMENT, strict=True)
def test_ffmpeg_seeks_into_a_later_segment(server):
    """ffmpeg seeks into the last segment of the first variant (the one it seeks by),
    which starts past the first segment's keyframe: every stream starts there."""
    if not shutil.which("ffmpeg"):
        pytest.skip("no ffmpeg")
    info = stream(server, KINDS[0])  # H.264 with B-frames, MPEG-TS: no fMP4 trouble
    assert len(info.boundaries[0]) > 2  # a later segment to seek into
    at = info.boundaries[0][-2] + 0.2
    whole = _ffmpeg(info.master)
    decoded = _ffmpeg(info.master, "-ss", f"{at:.3f}")
    assert decoded.returncode == 0 and decoded.complaints == "", decoded.complaints[-2000:]
    assert decoded.firsts == pytest.approx([OUTPUT_ORIGIN + round(at, 3)] * len(whole.firsts), abs=LONGEST_FRAME)


# What a user types to try a stream: playbin (not playbin3) takes the older hlsdemux,
# which chooses variants by BANDWIDTH alone. It went back and forth between an HEVC
# copy and the dearer H.264 transcode at the copy's size until it stalled for good; a
# stall must fail here, not wait for ever.
GST_LAUNCH_KINDS = ["h264-aac-mp4", "hevc-10bit-transcoded", "vp9-opus-webm", "av1-opus-mkv"]


@pytest.mark.parametrize("kind", [kind for kind in KINDS if kind.name in GST_LAUNCH_KINDS], ids=GST_LAUNCH_KINDS)
def test_gst_launch_playbin_plays_to_the_end(server, kind):
    if not shutil.which("gst-launch-1.0"):
        pytest.skip("no gst-launch-1.0 (gstreamer1.0-tools)")
    info = stream(server, kind)
    command = ["gst-launch-1.0", "playbin", f"uri={info.master}", "video-sink=fakesink sync=false",
               "audio-sink=fakesink sync=false"]
    try:
        run = subprocess.run(command, capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired as stalled:
        pytest.fail(f"gst-launch-1.0 playbin did not reach the end in 120 s:\n{(stalled.stdout or b'')[-2000:]}")
    assert run.returncode == 0 and "Got EOS from element" in run.stdout, run.stdout[-2000:] + run.stderr[-2000:]
