"""The player by touch and keyboard, its seek previews, .nfo metadata and the watched
folder, in Debian's Chromium.

Reuses test_browser's clips; one server for the module, a page per test.
"""
import shutil

import pytest

from harness.server import running_server
from .test_browser import TIMEOUT, browser_library, pytestmark, wait_until  # noqa: F401

PLOT = "Night after night, a sleeper train crosses the continent."


@pytest.fixture(scope="module")
def library(browser_library, tmp_path_factory):
    """test_browser's library with a tvshow.nfo, in a folder of its own that tests may add to."""
    root = tmp_path_factory.mktemp("ux") / "media"
    shutil.copytree(browser_library, root)
    (root / "Shows" / "Night Trains (2019)" / "tvshow.nfo").write_text(
        f"<tvshow><title>Night Trains</title><plot>{PLOT}</plot><genre>Documentary</genre></tvshow>",
        encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def server(library, tmp_path_factory):
    with running_server(library, str(tmp_path_factory.mktemp("ux-server"))) as server:
        yield server


def first_episode(server):
    status, [show] = server.api("/api/v1/shows?search=night")
    return show["episodes"][0]["id"]


def open_player(browser, server, **context_options):
    context = browser.new_context(**context_options)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT)
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{server.url}/#/play/{first_episode(server)}?from=start")
    # without a gesture the browser may refuse to start playing; a person presses play then
    page.wait_for_function("() => document.querySelector('video') && document.querySelector('video').readyState >= 3")
    if page.evaluate("document.querySelector('video').paused"):
        page.tap("#play-pause") if context_options.get("has_touch") else page.click("#play-pause")
    wait_until(page, server, "document.querySelector('video') && document.querySelector('video').currentTime > 0.5")
    return context, page, errors


def test_a_tap_brings_the_bar_back_on_a_phone(browser, server):
    context, page, errors = open_player(browser, server, viewport={"width": 390, "height": 844},
                                        has_touch=True, is_mobile=True)
    try:
        # untouched while playing, the bars fade; a tap brings them back, a second tap hides them
        wait_until(page, server, "document.querySelector('.player').classList.contains('idle')")
        page.wait_for_function("() => getComputedStyle(document.querySelector('.player-controls')).opacity === '0'")
        page.tap("video")
        assert not page.evaluate("document.querySelector('.player').classList.contains('idle')")
        page.wait_for_function("() => getComputedStyle(document.querySelector('.player-controls')).opacity === '1'")
        assert page.locator("#play-pause").is_visible() and page.locator(".back").is_visible()
        assert not page.evaluate("document.querySelector('video').paused")  # a tap on a phone does not pause
        page.tap("video")
        assert page.evaluate("document.querySelector('.player').classList.contains('idle')")
        page.tap("video")
        # the bar's buttons work by touch
        page.tap("#play-pause")
        page.wait_for_function("() => document.querySelector('video').paused")
        assert errors == []
    finally:
        context.close()


def test_preview_and_keys_after_a_click_on_the_seek_bar(browser, server):
    context, page, errors = open_player(browser, server, viewport={"width": 1280, "height": 720})
    try:
        seek = page.locator("#seek")
        box = seek.bounding_box()
        # hovering shows the frame under the pointer, from a sprite sheet the server made
        page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] / 2)  # wakes a bar faded meanwhile
        page.wait_for_function("() => !document.querySelector('.player').classList.contains('idle')")
        page.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + box["height"] / 2)
        page.wait_for_selector(".preview:not([hidden]) .preview-image[data-src]")
        src = page.get_attribute(".preview-image", "data-src")
        assert "/trickplay/0.jpg" in src
        assert page.evaluate("getComputedStyle(document.querySelector('.preview-image')).backgroundImage").startswith(
            'url("')
        assert page.evaluate("""src => new Promise(resolve => { const image = new Image();
            image.onload = () => resolve(image.naturalWidth); image.onerror = () => resolve(0); image.src = src; })""",
                             src) > 0
        assert page.locator(".preview-time").inner_text() == "0:12"

        # a click on the bar seeks there, and the keys still work afterwards
        page.mouse.click(box["x"] + box["width"] * 0.25, box["y"] + box["height"] / 2)
        wait_until(page, server, "Math.abs(document.querySelector('video').currentTime - 5) < 1.5")
        before = page.evaluate("document.querySelector('video').currentTime")
        page.keyboard.press("ArrowRight")
        wait_until(page, server, f"document.querySelector('video').currentTime > {before + 8}")
        page.keyboard.press(" ")
        wait_until(page, server, "document.querySelector('video').paused")
        page.keyboard.press("k")
        wait_until(page, server, "!document.querySelector('video').paused")
        # and after a click on the volume slider, which would keep arrows and space to itself
        page.click("#volume")
        page.keyboard.press(" ")
        wait_until(page, server, "document.querySelector('video').paused")

        # every control can be reached with Tab and has a name
        names = page.evaluate("""() => [...document.querySelectorAll(
              '.player a, .player button, .player select, .player input, .player [tabindex]')]
            .filter(e => !e.hidden && e.offsetParent !== null && e.tabIndex >= 0)
            .map(e => e.getAttribute('aria-label') || e.textContent.trim())""")
        assert all(names), names
        assert {"Back", "Seek", "Mute", "Volume", "Full screen"} <= set(names) and {"Play", "Pause"} & set(names)
        assert errors == []
    finally:
        context.close()


def test_space_and_m_drive_the_player_after_a_button_was_clicked(browser, server):
    """Space after leaving full screen by its button went back into full screen: the
    last clicked button kept the focus, and space pressed it again."""
    context, page, errors = open_player(browser, server, viewport={"width": 1280, "height": 720})
    try:
        page.click("#fullscreen")
        page.wait_for_function("() => document.fullscreenElement !== null")
        page.click("#fullscreen")
        page.wait_for_function("() => document.fullscreenElement === null")
        assert page.evaluate("document.activeElement.id") == "fullscreen"
        page.keyboard.press(" ")
        wait_until(page, server, "document.querySelector('video').paused")
        page.keyboard.press(" ")
        wait_until(page, server, "!document.querySelector('video').paused")
        assert page.evaluate("document.fullscreenElement") is None
        page.keyboard.press("m")
        assert page.evaluate("document.querySelector('video').muted")
        page.keyboard.press("m")
        assert not page.evaluate("document.querySelector('video').muted")
        assert errors == []
    finally:
        context.close()


def new_page(browser, server):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT)
    return context, page


def test_the_nfo_plot_is_on_the_show_page(browser, server):
    context, page = new_page(browser, server)
    try:
        page.goto(server.url + "/")
        page.wait_for_selector("#shows .card[data-title='Heat']")
        # the .nfo's genre is a filter of the library
        page.select_option("#genre", "Documentary")
        assert page.locator("#shows .card .name").all_inner_texts() == ["Night Trains"]
        assert page.evaluate("""async () => { const { minutes } = await import('/static/js/dom.js');
            return [minutes(30), minutes(90), minutes(6720), minutes(7200)]; }""") == [
            "30 s", "2 min", "1 h 52 min", "2 h"]
        page.click("#shows .card[data-title='Night Trains']")
        assert page.locator("#plot").inner_text() == PLOT
        assert "Documentary" in page.locator(".heading .sub").inner_text()
    finally:
        context.close()


def test_a_file_copied_into_the_folder_appears_without_a_rescan(browser, server, library):
    context, page = new_page(browser, server)
    try:
        page.goto(server.url + "/")
        page.wait_for_selector("#shows .card[data-title='Heat']")
        # copied the way a person does, in pieces, under its final name
        target = library / "Movies" / "Ronin (1998).mp4"
        with open(library / "Movies" / "Heat (1995).mp4", "rb") as source, open(target, "wb") as out:
            shutil.copyfileobj(source, out, 16 * 1024)
        # the deadline is generous: this waits for the event, it does not time it
        page.wait_for_selector("#shows .card[data-title='Ronin']", timeout=TIMEOUT)
        status, report = server.api("/api/v1/library/scan")
        assert report["skipped"] == []  # never probed half-written
        assert "rescanning" in server.log()
    finally:
        context.close()


def test_the_show_page_follows_the_folder(browser, server, library):
    """An episode added to the folder appears on an open show page, and one removed goes
    away, without a reload (the removed one stayed listed)."""
    context, page = new_page(browser, server)
    season = library / "Shows" / "Night Trains (2019)" / "Season 01"
    extra = season / "Night Trains - S01E03 - Arrival.mp4"
    try:
        status, [show] = server.api("/api/v1/shows?search=night")
        page.goto(f"{server.url}/#/show/{show['info']['id']}")
        page.wait_for_selector("ol.episodes li:has-text('S01E02')")
        shutil.copy(season / "Night Trains - S01E02 - The Long Tunnel.mp4", extra)
        # the deadline is generous: this waits for the event, it does not time it
        page.wait_for_selector("ol.episodes li:has-text('S01E03')", timeout=TIMEOUT)
        extra.unlink()
        page.wait_for_selector("ol.episodes li:has-text('S01E03')", state="detached", timeout=TIMEOUT)
        assert page.locator("ol.episodes li:has-text('S01E02')").count() == 1
    finally:
        extra.unlink(missing_ok=True)
        context.close()


def test_an_episode_is_marked_watched_and_unwatched_by_hand(browser, server):
    context, page = new_page(browser, server)
    try:
        status, [show] = server.api("/api/v1/shows?search=night")
        second = show["episodes"][1]["id"]
        page.goto(f"{server.url}/#/show/{show['info']['id']}")
        page.click(f"button.watched[data-id='{second}'][aria-label='Mark watched']")
        page.wait_for_selector(f"button.watched[data-id='{second}'][aria-label='Mark unwatched']")
        assert server.api(f"/api/v1/video/{second}/progress")[1]["finished"] is True
        page.click(f"button.watched[data-id='{second}']")
        page.wait_for_selector(f"button.watched[data-id='{second}'][aria-label='Mark watched']")
        assert server.api(f"/api/v1/video/{second}/progress")[1]["updated_at"] is None
    finally:
        context.close()
