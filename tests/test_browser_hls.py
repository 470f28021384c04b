"""hls.js in Debian's Chromium against the real server: every step a viewer takes, for a
copyable H.264 film with two audio tracks and subtitles, and for a 10-bit HEVC one that
this Chromium (no HEVC decoder) plays through transcoded variants.

Plays, switches quality, switches audio track, shows a subtitle, seeks to the middle and
plays to the end, all through the player's own menus. hls.js events are watched from the
moment the player creates its Hls instance (the player announces itself, see player.js):
a fatal hls.js error fails the test, non-fatal ones are printed. Audio and video are in sync
when every audio segment hls.js buffered (a rendition's, or the audio muxed in a variant)
ends where the video segment on the same boundary ends. Skipped only where there is no
Chromium; playwright never downloads a browser.
"""
import os
import time

import pytest

from harness.chromium import CHROMIUM
from harness.clips import make_clip
from harness.server import running_server
from .test_browser import H264_AAC, STATE, TIMEOUT

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"no Chromium at {CHROMIUM}")

SUBTITLE = "The lamp is lit"
SYNC_TOLERANCE = 0.05  # s: an AAC frame is 21 ms; a whole segment off would be 4 s

# Runs in the page before its scripts: a log of what hls.js and the video element report.
WATCH = """
window.haemaLog = {errors: [], audioSwitched: [], levelSwitched: [], frags: [], ended: 0};
window.addEventListener("haemaplayer", ({detail: player}) => {
  const log = window.haemaLog;
  player.video.addEventListener("ended", () => { log.ended += 1; });
  const hls = player.hls;
  if (!hls) return;  // native HLS: nothing of hls.js to watch
  const Events = window.Hls.Events;
  hls.on(Events.ERROR, (event, data) => log.errors.push({
    type: data.type, details: data.details, fatal: data.fatal,
    reason: String(data.reason || data.error || ""), url: (data.frag && data.frag.url) || data.url || null}));
  hls.on(Events.AUDIO_TRACK_SWITCHED, (event, data) => log.audioSwitched.push(data.id));
  hls.on(Events.LEVEL_SWITCHED, (event, data) => log.levelSwitched.push(data.level));
  hls.on(Events.FRAG_BUFFERED, (event, {frag}) => {
    const streams = frag.elementaryStreams || {};
    log.frags.push({type: frag.type, level: frag.level, sn: frag.sn, startPTS: frag.startPTS, endPTS: frag.endPTS,
                    audio: streams.audio && [streams.audio.startPTS, streams.audio.endPTS],
                    video: streams.video && [streams.video.startPTS, streams.video.endPTS]});
  });
});
"""

VIDEO = "window.haemaPlayer.video"
HLS = "window.haemaPlayer.hls"


@pytest.fixture(scope="module")
def hls_library(tmp_path_factory):
    """A 720p H.264 film with two AAC tracks and an English sidecar subtitle, and a 480p
    10-bit HEVC film with one AC-3 track. 12 fps keeps encoding and transcoding quick."""
    root = tmp_path_factory.mktemp("browser_hls") / "media"
    film = root / "Movies" / "Lighthouse (2020)"
    film.mkdir(parents=True)
    make_clip(film / "Lighthouse (2020).mp4", seconds=16, width=1280, height=720, fps=12, gop=24, audio_tracks=2)
    (film / "Lighthouse (2020).en.srt").write_text(f"1\n00:00:01,000 --> 00:00:15,000\n{SUBTITLE}\n\n",
                                                   encoding="utf-8")
    other = root / "Movies" / "Harbour (2021)"
    other.mkdir(parents=True)
    make_clip(other / "Harbour (2021).mkv", seconds=12, width=854, height=480, fps=12, gop=24,
              video_codec="libx265", pix_fmt="yuv420p10le", audio_codec="ac3")
    return root


@pytest.fixture(scope="module")
def server(hls_library, tmp_path_factory):
    with running_server(hls_library, str(tmp_path_factory.mktemp("browser_hls_server"))) as server:
        yield server


@pytest.fixture
def page(browser, server):
    page = browser.new_page(viewport={"width": 1280, "height": 720})
    page.set_default_timeout(TIMEOUT)
    page.add_init_script(WATCH)
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(server.url + "/")
    assert page.evaluate("type => MediaSource.isTypeSupported(type)", H264_AAC), (
        f"this Chromium cannot play H.264/AAC through MediaSource ({H264_AAC})")
    yield page
    page.close()
    assert errors == [], f"JavaScript errors on the page: {errors}"


def video_id(server, title):
    status, [show] = server.api(f"/api/v1/shows?search={title}")
    assert status == 200
    return show["info"]["id"]


class Viewer:
    """One page playing one video, with waits that fail saying what the page, hls.js and
    the server were doing."""

    def __init__(self, page, server):
        self.page, self.server = page, server

    def js(self, expression):
        return self.page.evaluate(expression)

    def wait(self, condition, what):
        from playwright.sync_api import TimeoutError

        started = time.monotonic()
        try:
            self.page.wait_for_function(f"() => ({condition})")  # a bare expression needs eval: CSP says no
        except TimeoutError:
            log = self.server.log().splitlines()[-20:]
            pytest.fail(f"timed out waiting for {what} ({condition})\npage: {self.js(STATE)}\n"
                        f"hls.js: {self.js('window.haemaLog.errors')}\nserver log:\n" + "\n".join(log))
        self.check_errors()
        return time.monotonic() - started

    def check_errors(self):
        fatal = [error for error in self.js("window.haemaLog.errors") if error["fatal"]]
        assert not fatal, f"fatal hls.js errors: {fatal}"
        assert self.page.locator(".overlay .message.error").count() == 0, self.js(STATE)

    def now(self):
        return self.js(f"{VIDEO}.currentTime")

    def plays_on(self, seconds, what):
        """Wait until the playhead is ``seconds`` past where it is now; returns how long that took."""
        until = self.now() + seconds
        return self.wait(f"{VIDEO}.currentTime > {until}", f"{what}: playing past {until:.1f} s")

    def menu(self, selector):
        """The options of a player menu, or None when it is hidden."""
        if self.page.locator(selector).is_hidden():
            return None
        return self.page.locator(f"{selector} option").all_inner_texts()

    def out_of_sync(self):
        """Segments whose audio ends apart from the video on the same boundary.

        Ends, not starts: hls.js fills the gap before a first segment's first audio frame
        with silence (the media timeline starts at the first video DTS, B-frames put the
        first picture later), which moves the segment's audio start but not the sound.
        Renditions are cut on the transcoded variants' grid, so they are held against
        those: the copy's segments can span two of theirs, and since the player switches
        quality at a segment boundary, the copy's segments stay in the buffer beside them.
        """
        frags = self.js("window.haemaLog.frags")
        copies = self.js(f"{HLS}.levels.map(level => level.uri.includes('/original/'))")
        video_end = {frag["sn"]: frag["video"][1] for frag in frags
                     if frag["type"] == "main" and frag["video"] and not copies[frag["level"]]}
        wrong = []
        for frag in frags:
            if frag["type"] == "audio" and frag["sn"] in video_end:  # an audio rendition
                gap = frag["endPTS"] - video_end[frag["sn"]]
            elif frag["type"] == "main" and frag["audio"] and frag["video"]:  # audio muxed with the video
                gap = frag["audio"][1] - frag["video"][1]
            else:
                continue
            if abs(gap) > SYNC_TOLERANCE:
                wrong.append((frag["type"], frag["level"], frag["sn"], round(gap, 3)))
        return wrong

    def report(self):
        """Non-fatal hls.js errors are printed, not failed: hls.js recovers from them."""
        for error in self.js("window.haemaLog.errors"):
            print("hls.js (non-fatal):", error)


def open_and_play(page, server, title):
    viewer = Viewer(page, server)
    server.forget_choices()
    page.goto(f"{server.url}/#/play/{video_id(server, title)}?from=start")
    viewer.wait(f"window.haemaPlayer && {HLS} && {HLS}.levels.length > 0", "the master playlist")
    viewer.wait(f"{VIDEO}.currentTime > 1", "playback to start")
    return viewer


def switch_quality(viewer):
    """Pick, in the quality menu, the level farthest in height from the one playing."""
    levels = viewer.js(f"{HLS}.levels.map(level => level.height)")
    playing = viewer.js(f"{HLS}.currentLevel")
    target = max(range(len(levels)), key=lambda index: abs(levels[index] - levels[playing]))
    viewer.page.select_option("#quality", str(target))
    took = viewer.wait(f"{HLS}.currentLevel === {target} && {VIDEO}.videoHeight === {levels[target]}",
                       f"frames at {levels[target]}p")
    viewer.plays_on(1, f"after the switch to {levels[target]}p")
    assert viewer.js("window.haemaLog.levelSwitched").count(target)
    print(f"quality {levels[playing]}p → {levels[target]}p in {took:.1f} s")


def seek_to_middle(viewer):
    duration = viewer.js(f"{VIDEO}.duration")
    # the middle, unless playing got there already: then a jump back
    target = duration / 2 if viewer.now() < duration / 2 - 1 else duration / 4
    viewer.js(f"{VIDEO}.currentTime = {target}")
    viewer.wait(f"Math.abs({VIDEO}.currentTime - {target}) < 1 && !{VIDEO}.seeking", f"the seek to {target:.1f} s")
    took = viewer.plays_on(1, f"after the seek to {target:.1f} s")
    print(f"seek to {target:.1f} s: playing again after {took:.1f} s")


def play_to_the_end(viewer):
    duration = viewer.js(f"{VIDEO}.duration")
    viewer.js(f"{VIDEO}.currentTime = {duration - 1.5}")
    viewer.wait("window.haemaLog.ended > 0", "the ended event")
    assert viewer.now() > duration - 0.5


def test_h264_two_audio_tracks_and_subtitles(page, server):
    viewer = open_and_play(page, server, "lighthouse")

    # the master playlist's renditions reach the menus
    quality = viewer.menu("#quality")
    assert quality and quality[0].startswith("Auto") and quality[1:] == ["720p", "480p", "360p"]
    assert viewer.menu("#audio") == ["English", "Français"]
    assert viewer.menu("#subtitles") == ["Subtitles off", "English"]

    switch_quality(viewer)

    # the second audio track: switched, playing on, in sync
    page.select_option("#audio", "1")
    viewer.wait(f"window.haemaLog.audioSwitched.includes(1) && {HLS}.audioTrack === 1", "the switch to audio 1")
    viewer.wait("window.haemaLog.frags.some(frag => frag.type === 'audio' && frag.level === 1)",
                "a segment of audio 1 in the buffer")
    viewer.plays_on(1.5, "after the audio switch")
    assert viewer.out_of_sync() == []

    page.select_option("#subtitles", "0")
    viewer.wait(f"[...{VIDEO}.textTracks].some(track => track.mode === 'showing' && "
                f"[...(track.activeCues || [])].some(cue => cue.text.includes({SUBTITLE!r})))",
                "the subtitle cue on screen")

    seek_to_middle(viewer)
    play_to_the_end(viewer)
    assert viewer.out_of_sync() == []
    assert viewer.js(f"{HLS}.audioTrack") == 1
    viewer.report()


def test_hevc_10bit_plays_transcoded(page, server):
    viewer = open_and_play(page, server, "harbour")

    # this Chromium has no HEVC decoder, so hls.js drops the hvc1 copy and the AC-3 track
    # untouched: two H.264 transcodes, with the track as AAC
    quality = viewer.menu("#quality")
    assert quality and quality[0].startswith("Auto") and quality[1:] == ["480p", "360p"]
    assert viewer.menu("#audio") is None and viewer.menu("#subtitles") is None

    switch_quality(viewer)
    seek_to_middle(viewer)
    play_to_the_end(viewer)
    assert viewer.out_of_sync() == []
    viewer.report()
