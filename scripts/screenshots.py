#!/usr/bin/env python3
"""The screenshots in docs/, taken again: ``python scripts/screenshots.py``.

Makes a small demo library (clips from harness/clips.py, .nfo files with plots and
genres), serves it with Haema, and photographs it in Debian's Chromium through
playwright: the library, a show page with its plot, the player with a seek preview and
subtitles, and the player and the library on a phone (390x844, touch).
"""
import os
import shutil
import tempfile

from harness.chromium import AUTOPLAY, launched
from harness.clips import make_clip
from harness.server import REPO, running_server

DOCS = os.path.join(REPO, "docs")

MOVIES = [  # title, year, genres, plot
    ("The Lantern Keeper", 2019, ["Drama"], "A lighthouse keeper finds a stranger washed ashore."),
    ("Harbor Lights", 2021, ["Romance", "Drama"], "Two ferry captains cross paths every night at ten."),
    ("Iron Orchard", 2016, ["Thriller"], "An orchard hides what the town wants forgotten."),
    ("Paper Moon Station", 2023, ["Comedy"], "A night clerk runs the last station before the border."),
    ("Velvet Frontier", 2014, ["Western"], "A tailor rides west with a debt and a bolt of velvet."),
    ("Frozen Compass", 2020, ["Adventure"], "An expedition loses its way, then its leader."),
    ("Electric Garden", 2018, ["Science Fiction"], "Plants that hum at night draw a botanist to a dead city."),
    ("Midnight Circus", 2012, ["Fantasy"], "The circus arrives after dark and leaves before dawn."),
    ("Quiet Engine", 2022, ["Documentary"], "A year inside the last steam works in the country."),
    ("Restless Valley", 2017, ["Drama"], "Three sisters come back to sell their mother's farm."),
    ("Scarlet Letterbox", 2015, ["Mystery"], "Letters arrive addressed to a woman who left forty years ago."),
    ("Wandering Tower", 2024, ["Fantasy", "Adventure"], "A tower that moves a mile a day, and the boy inside it."),
]
SERIES = ("Night Trains", 2019, ["Documentary"],
          "Night after night, sleeper trains cross the continent; each episode rides one of them end to end.",
          ["Departure", "The Long Tunnel", "Border Crossing", "Morning Coast"])


def make_library(root):
    for number, (title, year, genres, plot) in enumerate(MOVIES):
        folder = os.path.join(root, "Movies", f"{title} ({year})")
        os.makedirs(folder)
        make_clip(os.path.join(folder, f"{title} ({year}).mp4"), seconds=4, width=480, height=270, gop=24,
                  start=number * 0.37)
        write_nfo(os.path.join(folder, "movie.nfo"), "movie", title, year, genres, plot, runtime=90 + number * 3)
    title, year, genres, plot, episodes = SERIES
    show = os.path.join(root, "Shows", f"{title} ({year})")
    os.makedirs(os.path.join(show, "Season 01"))
    write_nfo(os.path.join(show, "tvshow.nfo"), "tvshow", title, year, genres, plot)
    for number, name in enumerate(episodes, 1):
        make_clip(os.path.join(show, "Season 01", f"{title} - S01E{number:02d} - {name}.mp4"),
                  seconds=40 if number == 1 else 6, width=640, height=360, gop=48)
    with open(os.path.join(show, "Season 01", f"{title} - S01E01 - {episodes[0]}.en.srt"), "w", encoding="utf-8") as srt:
        srt.write("1\n00:00:00,500 --> 00:00:39,500\nThe night train leaves at ten,\nfrom the last platform.\n")


def write_nfo(path, root, title, year, genres, plot, runtime=None):
    genre_tags = "".join(f"<genre>{g}</genre>" for g in genres)
    extra = f"<runtime>{runtime}</runtime><rating>7.{len(title) % 10}</rating>" if runtime else ""
    with open(path, "w", encoding="utf-8") as out:
        out.write(f"<{root}><title>{title}</title><year>{year}</year><plot>{plot}</plot>{genre_tags}{extra}</{root}>")


def shoot(server, page_of):
    """Saves the five screenshots; returns how many shows the library page listed."""
    status, shows = server.api("/api/v1/shows")
    series = next(s for s in shows if s["type"] == "series")
    episode = series["episodes"][0]["id"]
    server.api(f"/api/v1/video/{series['episodes'][1]['id']}/progress", "PUT", {"position": 2})
    for show in shows[:3]:
        if show["type"] == "movie":
            server.api(f"/api/v1/video/{show['info']['id']}/progress", "PUT", {"position": 1.5})

    page = page_of(viewport={"width": 1280, "height": 900})
    page.goto(server.url + "/")
    page.wait_for_selector("#shows .card img")
    page.wait_for_timeout(800)  # posters fade in
    page.screenshot(path=os.path.join(DOCS, "library.png"))

    page.goto(f"{server.url}/#/show/{series['info']['id']}")
    page.wait_for_selector("#plot")
    page.wait_for_timeout(500)
    page.screenshot(path=os.path.join(DOCS, "show.png"))

    page = page_of(viewport={"width": 1280, "height": 720})
    page.goto(f"{server.url}/#/play/{episode}?from=start")
    page.wait_for_function("() => document.querySelector('video') && document.querySelector('video').currentTime > 1")
    page.select_option("#subtitles", "0")
    box = page.locator("#seek").bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] / 2)  # wakes the bar
    page.mouse.move(box["x"] + box["width"] * 0.55, box["y"] + box["height"] / 2)
    page.wait_for_selector(".preview:not([hidden]) .preview-image[data-src]")
    page.wait_for_timeout(500)
    page.screenshot(path=os.path.join(DOCS, "player.png"))

    phone = page_of(viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True, device_scale_factor=2)
    phone.goto(f"{server.url}/#/play/{episode}?from=start")
    phone.wait_for_function("() => document.querySelector('video') && document.querySelector('video').readyState >= 3")
    if phone.evaluate("document.querySelector('video').paused"):
        phone.tap("#play-pause")
    phone.wait_for_function("() => document.querySelector('video').currentTime > 1")
    phone.select_option("#subtitles", "0")
    phone.wait_for_selector("#captions:not([hidden])")
    phone.tap("video")
    phone.tap("video")
    phone.wait_for_timeout(400)
    phone.screenshot(path=os.path.join(DOCS, "phone.png"))

    phone.goto(server.url + "/")
    phone.wait_for_selector("#shows .card img")
    phone.wait_for_timeout(800)
    phone.screenshot(path=os.path.join(DOCS, "phone-library.png"))
    return len(shows)


def main():
    work = tempfile.mkdtemp(prefix="haema-shots-")
    try:
        root = os.path.join(work, "media")
        make_library(root)
        with running_server(root, work) as server, launched(AUTOPLAY, "--hide-scrollbars") as browser:
            pages = []

            def page_of(**options):
                page = browser.new_context(**options).new_page()
                page.set_default_timeout(60_000)
                pages.append(page)
                return page
            print(f"docs/: library.png, show.png, player.png, phone.png, phone-library.png "
                  f"({shoot(server, page_of)} shows)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
