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
    """test_browser's library with a tvshow.nfo and subtitles, in a folder of its own that tests may add to."""
    root = tmp_path_factory.mktemp("ux") / "media"
    shutil.copytree(browser_library, root)
    (root / "Shows" / "Night Trains (2019)" / "tvshow.nfo").write_text(
        f"<tvshow><title>Night Trains</title><plot>{PLOT}</plot><genre>Documentary</genre></tvshow>",
        encoding="utf-8")
    # the 20 s first episode's subtitles: a gap from 4 to 6 s, then a line to the end
    (root / "Shows" / "Night Trains (2019)" / "Season 01" / "Night Trains - S01E01 - Departure.en.srt").write_text(
        "1\n00:00:00,500 --> 00:00:04,000\nOne\n\n2\n00:00:06,000 --> 00:00:19,900\nTwo\n", encoding="utf-8")
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


# The picture's rectangle in the video element (object-fit: contain), the subtitles' box,
# and the seek bar's, at which the visible controls start (the shading above it fades out).
GEOMETRY = """() => {
  const video = document.querySelector('video');
  const box = video.getBoundingClientRect();
  const scale = Math.min(box.width / video.videoWidth, box.height / video.videoHeight);
  const width = video.videoWidth * scale, height = video.videoHeight * scale;
  const left = box.left + (box.width - width) / 2, top = box.top + (box.height - height) / 2;
  const rect = (selector) => document.querySelector(selector).getBoundingClientRect().toJSON();
  return {picture: {left, top, right: left + width, bottom: top + height, height},
          captions: rect('#captions'), seek: rect('#seek'), buttons: rect('.player-controls .buttons'),
          text: document.querySelector('#captions').innerText, idle: document.querySelector('.player.idle') !== null,
          fullscreen: document.fullscreenElement && document.fullscreenElement.contains(document.querySelector('#captions'))};
}"""

ON_THE_PICTURE = ("g.captions.left >= g.picture.left - 1 && g.captions.right <= g.picture.right + 1 && "
                  "g.captions.top >= g.picture.top - 1 && g.captions.bottom <= g.picture.bottom + 1")
NEAR_ITS_BOTTOM = "g.picture.bottom - g.captions.bottom <= 0.1 * g.picture.height"
ABOVE_THE_CONTROLS = "g.captions.bottom <= g.seek.top && g.captions.bottom <= g.buttons.top"


def wait_for_geometry(page, condition):
    """Waits until ``condition`` (JavaScript over GEOMETRY's ``g``) holds: the lines glide
    into place. Fails with the rectangles."""
    from playwright.sync_api import TimeoutError

    try:
        page.wait_for_function(f"() => {{ const g = ({GEOMETRY})(); return g.text === 'Two' && ({condition}); }}")
    except TimeoutError:
        pytest.fail(f"not {condition}: {page.evaluate(GEOMETRY)}")


@pytest.mark.parametrize("profile", [
    {"viewport": {"width": 1280, "height": 720}},
    {"viewport": {"width": 390, "height": 844}, "has_touch": True, "is_mobile": True},
    {"viewport": {"width": 844, "height": 390}, "has_touch": True, "is_mobile": True},
], ids=["desktop", "portrait-phone", "landscape-phone"])
def test_subtitles_sit_on_the_picture_above_the_controls(browser, server, profile):
    """The browser drew the cue lines under the time, volume and full-screen controls and
    their shading, and at the bottom of a portrait phone's screen, below the picture."""
    context, page, errors = open_player(browser, server, **profile)
    touch = profile.get("has_touch")
    press = page.tap if touch else page.click
    try:
        page.select_option("#subtitles", "0")
        # paused at "Two" (6 to 19.9 s) with the controls shown: the lines are on the picture, above them
        page.evaluate("() => { const video = document.querySelector('video'); video.pause(); video.currentTime = 6.5; }")
        wake(page, touch)
        wait_for_geometry(page, f"!g.idle && {ON_THE_PICTURE} && {ABOVE_THE_CONTROLS}")
        if profile["viewport"]["height"] > profile["viewport"]["width"]:  # the picture ends far above them
            wait_for_geometry(page, NEAR_ITS_BOTTOM)
        # the controls hidden (untouched while playing): the lines go down to the picture's bottom
        press("#play-pause")
        page.wait_for_selector(".player.idle")
        page.evaluate("document.querySelector('video').pause()")  # and stay there, still hidden
        wait_for_geometry(page, f"g.idle && {ON_THE_PICTURE} && {NEAR_ITS_BOTTOM}")
        if not touch:
            # in full screen too: the lines are inside what goes full screen
            wake(page, touch)
            page.click("#fullscreen")
            page.wait_for_function("() => document.fullscreenElement !== null")
            wait_for_geometry(page, f"g.fullscreen && !g.idle && {ON_THE_PICTURE} && {ABOVE_THE_CONTROLS}")
        assert errors == []
    finally:
        context.close()


def wake(page, touch):
    """Brings the controls back: the mouse moved over the player, or a tap on a phone."""
    if touch:
        if page.evaluate("document.querySelector('.player').classList.contains('idle')"):
            page.tap("video")
    else:
        page.mouse.move(300, 300)
        page.mouse.move(310, 310)
    page.wait_for_selector(".player:not(.idle)")


def test_speed_subtitle_size_and_delay_are_set_and_kept(browser, server):
    context, page, errors = open_player(browser, server, viewport={"width": 1280, "height": 720})
    try:
        page.select_option("#subtitles", "0")
        page.evaluate("() => { const video = document.querySelector('video'); video.pause(); video.currentTime = 5; }")
        page.wait_for_function("() => document.querySelector('#captions').hidden")  # between "One" and "Two"
        wake(page, False)
        page.click("#settings")
        page.select_option("#speed", "1.5")
        assert page.evaluate("document.querySelector('video').playbackRate") == 1.5
        # a delay moves the lines later (+) or earlier (−): at 5 s, "One" (until 4 s) or "Two" (from 6 s)
        for _ in range(5):
            page.click("#delay-later")
        assert page.locator("#subtitle-delay").inner_text() == "+1.25 s"
        page.wait_for_function("() => document.querySelector('#captions').innerText === 'One'")
        for _ in range(10):
            page.click("#delay-earlier")
        assert page.locator("#subtitle-delay").inner_text() == "−1.25 s"
        page.wait_for_function("() => document.querySelector('#captions').innerText === 'Two'")
        size = "parseFloat(getComputedStyle(document.querySelector('#captions')).fontSize)"
        normal = page.evaluate(size)
        page.select_option("#subtitle-size", "1.5")
        assert page.evaluate(size) == pytest.approx(1.5 * normal)

        # kept in this browser: after a reload, all three are as they were set
        page.reload()
        wait_until(page, server, "document.querySelector('video') && document.querySelector('video').readyState >= 1")
        assert page.evaluate("document.querySelector('video').playbackRate") == 1.5
        assert page.input_value("#speed") == "1.5" and page.input_value("#subtitle-size") == "1.5"
        assert page.locator("#subtitle-delay").inner_text() == "−1.25 s"
        assert errors == []
    finally:
        context.close()


def test_the_settings_menu_by_touch_on_a_phone(browser, server):
    context, page, errors = open_player(browser, server, viewport={"width": 390, "height": 844},
                                        has_touch=True, is_mobile=True)
    try:
        page.evaluate("document.querySelector('video').pause()")  # the bar stays once shown
        wake(page, True)
        page.tap("#settings")
        panel = page.locator("#settings-panel")
        assert panel.is_visible()
        box = panel.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390 and box["y"] >= 0  # on screen
        for control in panel.locator("select, button").all():
            assert control.bounding_box()["height"] >= 44, control.get_attribute("id")  # a finger's size
        page.tap("#delay-later")
        assert page.locator("#subtitle-delay").inner_text() == "+0.25 s"
        page.select_option("#speed", "0.75")
        assert page.evaluate("document.querySelector('video').playbackRate") == 0.75
        # a tap elsewhere closes the menu
        page.tap("#current-time")
        assert panel.is_hidden()
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


def test_an_entry_is_removed_from_continue_watching(browser, server):
    """By a button on each entry, shown without hover (a phone has none): gone at once
    and after a reload, as its progress is forgotten; the other entry stays."""
    status, [show] = server.api("/api/v1/shows?search=night")
    status, [film] = server.api("/api/v1/shows?search=heat")
    episode, heat = show["episodes"][0]["id"], film["info"]["id"]
    for video in (episode, heat):
        assert server.api(f"/api/v1/video/{video}/progress", "PUT", {"position": 1.5})[0] == 200
    desktop = {"viewport": {"width": 1280, "height": 800}}
    phone = {"viewport": {"width": 390, "height": 844}, "has_touch": True, "is_mobile": True}
    for options, video, other in ((desktop, heat, episode), (phone, episode, None)):
        context = browser.new_context(**options)
        page = context.new_page()
        page.set_default_timeout(TIMEOUT)
        try:
            page.goto(server.url + "/")
            remove = page.locator(f".continue button.remove[data-id='{video}']")
            remove.wait_for()
            box = remove.bounding_box()
            assert box["width"] >= 44 and box["height"] >= 44 and remove.is_visible()  # a finger's size
            remove.tap() if options.get("has_touch") else remove.click()
            remove.wait_for(state="detached")
            page.reload()
            page.wait_for_selector("#shows .card")
            page.wait_for_selector("#view:not([aria-busy])")
            if other:
                page.wait_for_selector(f".continue button.remove[data-id='{other}']")
                assert page.locator(".continue .entry").count() == 1
            else:
                assert page.locator(".continue").is_hidden()
        finally:
            context.close()
    assert server.api("/api/v1/continue") == (200, [])
    # an entry that offers the next episode: the show is taken out, its history kept
    second = show["episodes"][1]["id"]
    length = server.api(f"/api/v1/video/{episode}")[1]["duration"]
    assert server.api(f"/api/v1/video/{episode}/progress", "PUT", {"position": length})[0] == 200  # to its end
    context = browser.new_context(**phone)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT)
    try:
        page.goto(server.url + "/")
        page.locator(f".continue button.remove[data-id='{second}']").tap()
        page.locator(f".continue button.remove[data-id='{second}']").wait_for(state="detached")
    finally:
        context.close()
    assert server.api("/api/v1/continue") == (200, [])
    assert server.api(f"/api/v1/video/{episode}/progress")[1]["finished"] is True
    assert server.api(f"/api/v1/video/{episode}/progress", "DELETE")[0] == 204  # as the next tests expect it


def test_the_library_and_show_pages_fit_a_phone(browser, server):
    """At 390 px the library's frames (no posters here) came one to a row, the "Mark
    watched" words took a third of each episode's row, and the show's poster sat at the
    bottom of its heading, beside the buttons."""
    context = browser.new_context(viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT)
    try:
        page.goto(server.url + "/")
        page.wait_for_selector("#shows.stills .card[data-title='Night Trains']")
        first, second = (card.bounding_box() for card in page.locator("#shows .card").all()[:2])
        assert first["y"] == second["y"] and second["x"] + second["width"] <= 390  # two to a row
        status, [show] = server.api("/api/v1/shows?search=night")
        page.goto(f"{server.url}/#/show/{show['info']['id']}")
        page.wait_for_selector("ol.episodes li button.watched")
        for row in page.locator("ol.episodes li").all():
            toggle, episode = row.locator("button.watched").bounding_box(), row.locator(".episode").bounding_box()
            assert 44 <= toggle["width"] <= 56 and toggle["height"] >= 44  # a finger's size, no more
            assert episode["width"] >= 300
        assert page.locator(".heading .poster").bounding_box()["y"] <= page.locator(".heading h1").bounding_box()["y"]
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        # the mark says it, as the words did
        second = page.locator("ol.episodes li").nth(1).locator("button.watched")
        second.tap()
        page.wait_for_selector("ol.episodes li button.watched.on[aria-label='Mark unwatched']")
        page.locator("button.watched.on").tap()
        page.wait_for_selector("ol.episodes li button.watched.on", state="detached")
    finally:
        context.close()
