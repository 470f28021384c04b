"""Remembered choices in Debian's Chromium: the subtitle language, audio language and quality
a viewer picks in the player's menus survive a reload, and start the next film the same way
in another browser (issue #31, point 5): the server keeps them, not the browser.

Two films with English and French sound and subtitles, at 480p, so the master also offers 360p.
"""
import shutil

import pytest

from harness.clips import make_clip
from harness.server import running_server
from .test_browser import TIMEOUT, pytestmark, wait_until  # noqa: F401

HLS = "window.haemaPlayer.hls"
# what the player has on, in the words of its menus and of hls.js
ON = f"""() => {{
  const hls = window.haemaPlayer.hls;
  const chosen = (id) => {{ const menu = document.getElementById(id); return menu.options[menu.selectedIndex].text; }};
  const subtitles = hls.subtitleDisplay && hls.subtitleTracks[hls.subtitleTrack];
  const level = hls.levels[hls.manualLevel];
  return {{audio: hls.audioTracks[hls.audioTrack].lang, subtitles: subtitles ? subtitles.lang : null,
          quality: level ? Math.min(level.width, level.height) : "auto",
          menus: [chosen("audio"), chosen("subtitles"), chosen("quality")]}};
}}"""


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    root = tmp_path_factory.mktemp("preferences") / "media"
    for number, title in enumerate(("Alpha (2020)", "Bravo (2021)")):
        folder = root / "Movies" / title
        folder.mkdir(parents=True)
        if number == 0:
            make_clip(folder / f"{title}.mkv", seconds=8, width=854, height=480, fps=12, gop=24, audio_tracks=2)
        else:  # the same pictures and sound under another name: another film to the library
            shutil.copyfile(root / "Movies" / "Alpha (2020)" / "Alpha (2020).mkv", folder / f"{title}.mkv")
        for language, text in (("en", "The lamp is lit"), ("fr", "La lampe est allumée")):
            (folder / f"{title}.{language}.srt").write_text(f"1\n00:00:00,500 --> 00:00:07,500\n{text}\n\n",
                                                            encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def server(library, tmp_path_factory):
    with running_server(library, str(tmp_path_factory.mktemp("preferences-server"))) as server:
        yield server


def film(server, title):
    status, [show] = server.api(f"/api/v1/shows?search={title}")
    return show["info"]["id"]


def open_film(page, server, title):
    page.goto(f"{server.url}/#/play/{film(server, title)}?from=start")
    wait_until(page, server, f"window.haemaPlayer && {HLS} && {HLS}.levels.length > 1 && "
                             f"{HLS}.audioTracks.length === 2 && {HLS}.subtitleTracks.length === 2")
    wait_until(page, server, "window.haemaPlayer.video.readyState >= 2")


def choose(page, menu, index):
    """Pick the menu's option for hls.js track or level ``index``, as a viewer does, and wait
    for the server to take the choice."""
    with page.expect_response(lambda r: r.url.endswith("/api/v1/preferences") and r.request.method == "PUT") as saved:
        page.select_option(menu, str(index))
    assert saved.value.status == 200


DESKTOP = {"viewport": {"width": 1280, "height": 720}}
PHONE = {"viewport": {"width": 390, "height": 844}, "has_touch": True, "is_mobile": True}


def new_page(browser, profile=DESKTOP):
    context = browser.new_context(**profile)  # a browser of its own: no shared storage
    page = context.new_page()
    page.set_default_timeout(TIMEOUT)
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    return context, page, errors


@pytest.mark.parametrize("profile", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_choices_survive_a_reload_and_start_the_next_film_in_another_browser(browser, server, profile):
    server.forget_choices()
    context, page, errors = new_page(browser, profile)
    try:
        open_film(page, server, "alpha")
        before = page.evaluate(ON)
        assert before["audio"] == "en" and before["subtitles"] is None and before["quality"] == "auto"

        choose(page, "#subtitles", page.evaluate(f"{HLS}.subtitleTracks.findIndex(t => t.lang === 'fr')"))
        choose(page, "#audio", page.evaluate(f"{HLS}.audioTracks.findIndex(t => t.lang === 'fr')"))
        choose(page, "#quality", page.evaluate(f"{HLS}.levels.findIndex(l => l.height === 360)"))
        chosen = page.evaluate(ON)
        assert (chosen["audio"], chosen["subtitles"], chosen["quality"]) == ("fr", "fr", 360)
        assert server.api("/api/v1/preferences") == (
            200, {"audio_language": "fr", "subtitle_language": "fr", "quality": 360})

        page.reload()
        open_film(page, server, "alpha")
        assert page.evaluate(ON) == chosen
        # and the saved quality is what plays, not just what the menu says
        wait_until(page, server, f"{HLS}.levels[{HLS}.currentLevel] && {HLS}.levels[{HLS}.currentLevel].height === 360"
                                 " && window.haemaPlayer.video.videoHeight === 360")
        assert errors == []
    finally:
        context.close()

    context, page, errors = new_page(browser, profile)
    try:
        open_film(page, server, "bravo")
        assert page.evaluate(ON) == chosen
        # subtitles off is a choice too: the next film starts without them
        choose(page, "#subtitles", -1)
        open_film(page, server, "alpha")
        assert page.evaluate(ON)["subtitles"] is None
        assert server.api("/api/v1/preferences")[1]["subtitle_language"] == "none"
        assert errors == []
    finally:
        context.close()


@pytest.mark.parametrize("height, expected", [(720, 480), (480, 480), (400, 360), (240, 240), (100, 240),
                                              ("auto", -1)])
def test_a_saved_height_a_film_lacks_plays_the_nearest_below(browser, server, height, expected):
    """The film's own levels as hls.js lists them (the widest first, a portrait one by its short side)."""
    context, page, errors = new_page(browser)
    try:
        page.goto(server.url + "/")
        levels = [{"width": 854, "height": 480}, {"width": 240, "height": 426}, {"width": 640, "height": 360}]
        index = page.evaluate("""async ([levels, height]) =>
            (await import('/static/js/preferences.js')).nearestLevel(levels, height)""", [levels, height])
        assert (min(levels[index].values()) if index >= 0 else -1) == expected
        assert errors == []
    finally:
        context.close()
