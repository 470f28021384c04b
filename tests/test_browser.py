"""The web player end to end: the real server, Debian's Chromium driven by playwright.

One scenario, in the order a person would go: library → search → show → play → seek →
reload → playback resumes where it was left. Skipped only where there is no Chromium;
playwright never downloads a browser here.
"""
import os
import shutil

import pytest

from harness.chromium import CHROMIUM, launched
from harness.clips import make_clip
from harness.server import running_server

H264_AAC = 'video/mp4; codecs="avc1.42E01E,mp4a.40.2"'
TIMEOUT = 60_000  # ms: the first segments may be packaged on a slow CI machine

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"no Chromium at {CHROMIUM}")


@pytest.fixture(scope="session")
def browser_library(tmp_path_factory):
    """A 20 s H.264+AAC episode with 2 s GOPs, the episode after it, and a film for search to leave out."""
    root = tmp_path_factory.mktemp("browser") / "media"
    season = root / "Shows" / "Night Trains (2019)" / "Season 01"
    season.mkdir(parents=True)
    make_clip(season / "Night Trains - S01E01 - Departure.mp4", seconds=20, width=320, height=180, fps=24, gop=48)
    make_clip(season / "Night Trains - S01E02 - The Long Tunnel.mp4", seconds=4, width=320, height=180, gop=48)
    (root / "Movies").mkdir()
    make_clip(root / "Movies" / "Heat (1995).mp4", seconds=4, width=320, height=180, gop=48)
    return root


@pytest.fixture
def server(browser_library, tmp_path):
    with running_server(browser_library, str(tmp_path)) as server:
        yield server


@pytest.fixture
def page(server):
    with launched() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 720})
        page.set_default_timeout(TIMEOUT)
        errors = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(server.url + "/")
        assert page.evaluate("type => MediaSource.isTypeSupported(type)", H264_AAC), (
            f"this Chromium cannot play H.264/AAC through MediaSource ({H264_AAC}): "
            "it lacks the proprietary codecs, so HLS playback cannot be tested in it")
        yield page
        assert errors == [], f"JavaScript errors on the page: {errors}"


STATE = """() => {
  const video = document.querySelector('video');
  const overlay = document.querySelector('.overlay');
  return {hash: location.hash, overlay: overlay && !overlay.hidden ? overlay.innerText : null,
          video: video && {time: video.currentTime, paused: video.paused, readyState: video.readyState,
                           buffered: [...Array(video.buffered.length).keys()].map(i => [video.buffered.start(i), video.buffered.end(i)]),
                           error: video.error && video.error.code}};
}"""


def wait_until(page, server, condition):
    """``page.wait_for_function``, failing with what the page and the server were doing.

    The condition is wrapped in a function: the page's Content-Security-Policy forbids
    the eval that playwright uses for a bare expression."""
    from playwright.sync_api import TimeoutError

    try:
        page.wait_for_function(f"() => ({condition})")
    except TimeoutError:
        log = server.log().splitlines()[-20:]
        pytest.fail(f"timed out waiting for {condition}\npage: {page.evaluate(STATE)}\nserver log:\n" + "\n".join(log))


def current_time(page):
    return page.evaluate("document.querySelector('video').currentTime")


def test_play_seek_reload_resumes(page, server):
    # the library, then search as you type
    page.wait_for_selector("#shows .card")
    assert page.locator("#shows .card").count() == 2
    page.fill("#search", "night")
    page.wait_for_function("() => document.querySelectorAll('#shows .card').length === 1")
    assert page.locator("#shows .card .name").inner_text() == "Night Trains"

    # the show: episodes grouped by season; play the first
    page.click("#shows .card")
    page.wait_for_selector(".season h2")
    assert page.locator(".season h2").all_inner_texts() == ["Season 1"]
    assert page.locator(".episode .title").all_inner_texts() == ["Departure", "The Long Tunnel"]
    page.click("#play")

    # playing: time advances, no error shown, the next episode is offered
    wait_until(page, server, "document.querySelector('video') && document.querySelector('video').currentTime > 1")
    assert page.locator(".overlay .message.error").count() == 0
    assert page.locator("#next").inner_text().startswith("Next: S01E02")

    # seek with the keyboard (→ is +10 s), then pause with space: both save the position
    before = current_time(page)
    page.keyboard.press("ArrowRight")
    wait_until(page, server, f"document.querySelector('video').currentTime > {before + 8}")
    page.keyboard.press(" ")
    wait_until(page, server, "document.querySelector('video').paused")
    paused_at = current_time(page)
    video_id = page.evaluate("location.hash").split("/")[-1]
    wait_until(page, server, f"fetch('/api/v1/video/{video_id}/progress').then(r => r.json())"
                             f".then(p => Math.abs(p.position - {paused_at}) < 0.5)")

    # reload: the player starts where it was left
    page.reload()
    wait_until(page, server, "document.querySelector('video') && document.querySelector('video').readyState >= 2")
    status, saved = server.api(f"/api/v1/video/{video_id}/progress")
    assert saved["position"] > 9 and not saved["finished"]
    assert abs(current_time(page) - saved["position"]) < 1.0
    assert page.locator(".overlay .message.error").count() == 0

    # back in the library, the episode is in "Continue watching"
    page.goto(server.url + "/#/")
    page.wait_for_selector(".continue .card")
    assert "Night Trains" in page.locator(".continue .card").first.inner_text()


@pytest.fixture
def private_library(browser_library, tmp_path):
    """A copy of the library that a test may break."""
    root = tmp_path / "media"
    shutil.copytree(browser_library, root)
    return root


def test_errors_are_shown_in_words(private_library, tmp_path):
    with running_server(private_library, str(tmp_path)) as server:
        status, [show] = server.api("/api/v1/shows?search=night")
        episode = show["episodes"][1]["id"]
        next(private_library.rglob("*S01E02*")).unlink()  # gone after the scan: the index still lists it
        with launched() as browser:
            page = browser.new_page()
            page.set_default_timeout(TIMEOUT)
            page.goto(f"{server.url}/#/play/0123456789abcdef")
            assert "not in the library" in page.locator(".overlay .message.error").inner_text()
            page.goto(f"{server.url}/#/play/{episode}")
            page.reload()
            assert "missing" in page.locator(".overlay .message.error").inner_text()
