"""Item pictures over the Jellyfin API (haema/jellyfin/images.py, haema/imaging.py): which picture
stands for which type, the size rules as pure functions, and real pictures scaled by a real
encoder worker, cached once, and sent as they are when they are no pictures at all."""
import fractions
import io
import shutil
import types

import av
import numpy
import pytest

from haema import imaging
from haema.jellyfin import ids, items

from harness.clips import make_clip


def picture_bytes(width, height, codec="mjpeg"):
    """A real JPEG (or PNG) of ``width`` x ``height``: a gradient, so scaling has work to do."""
    pixels = numpy.zeros((height, width, 3), numpy.uint8)
    pixels[..., 0] = numpy.linspace(0, 255, width, dtype=numpy.uint8)[None, :]
    pixels[..., 1] = numpy.linspace(0, 255, height, dtype=numpy.uint8)[:, None]
    encoder = av.CodecContext.create(codec, "w")
    encoder.width, encoder.height = width, height
    encoder.pix_fmt = "yuvj420p" if codec == "mjpeg" else "rgb24"
    encoder.time_base = fractions.Fraction(1, 25)
    frame = av.VideoFrame.from_ndarray(pixels, format="rgb24").reformat(format=encoder.pix_fmt)
    return b"".join(bytes(p) for p in encoder.encode(frame) + encoder.encode(None))


def size_of(data):
    with av.open(io.BytesIO(data)) as container:
        frame = next(container.decode(video=0))
        return frame.width, frame.height


# -- pure ------------------------------------------------------------------------


def test_fit_follows_jellyfins_bounds_and_never_enlarges():
    assert imaging.Fit(max_width=300).size(1000, 1500) == (300, 450)
    assert imaging.Fit(max_height=300).size(1000, 1500) == (200, 300)
    assert imaging.Fit(max_width=300, max_height=300).size(1000, 1500) == (200, 300)
    # fill: the smallest size that still covers the box (the client crops)
    assert imaging.Fit(fill_width=300, fill_height=300).size(1000, 1500) == (300, 450)
    assert imaging.Fit(fill_width=400, fill_height=100).size(1280, 720) == (400, 224)
    assert imaging.Fit(width=100).size(1000, 1500) == (100, 150)
    assert imaging.Fit(width=100, height=100).size(1000, 1500) == (100, 100)
    assert imaging.Fit(max_width=4000).size(1000, 1500) == (1000, 1500)
    assert imaging.Fit(fill_width=3000, fill_height=3000).size(1000, 1500) == (1000, 1500)
    assert imaging.Fit(max_width=301).size(1001, 1501) == (300, 450)  # even, for 4:2:0, and within
    assert not imaging.Fit().asks and imaging.Fit(fill_height=1).asks


def test_bounds_and_quality_read_what_clients_send():
    assert imaging.bounds("300") == 300 and imaging.bounds("300.7") == 300 and imaging.bounds("99999") == 4096
    assert [imaging.bounds(v) for v in (None, "", "x", "-5", "0", "inf", "nan")] == [None] * 7
    assert imaging.jpeg_quality(100) == 2 and imaging.jpeg_quality(90) == 5 and imaging.jpeg_quality(1) == 31


def test_artwork_picks_posters_stills_and_banners():
    film = types.SimpleNamespace(kind="movie", thumbnail="Movies/A/poster.jpg", banner=None)
    still = types.SimpleNamespace(frame="ab.jpg")
    assert items.artwork(film, still, "ab.jpg") == {"Primary": ("library", "Movies/A/poster.jpg"),
                                                    "Thumb": ("frames", "ab.jpg")}
    series = types.SimpleNamespace(kind="series", thumbnail=None, banner="Shows/B/banner.jpg")
    episode = types.SimpleNamespace(frame="e1.jpg")
    assert items.artwork(series, episode, "e0.jpg") == {
        "Primary": ("frames", "e1.jpg"), "Backdrop": ("library", "Shows/B/banner.jpg"),
        "Banner": ("library", "Shows/B/banner.jpg"), "Thumb": ("frames", "e1.jpg")}
    assert items.artwork(series, None, "e0.jpg")["Primary"] == ("frames", "e0.jpg")
    bare = types.SimpleNamespace(kind="movie", thumbnail=None, banner=None)
    assert items.artwork(bare, types.SimpleNamespace(frame=None), None) == {}


# -- through the app -------------------------------------------------------------


@pytest.fixture
def pictured(make_app, library_template, tmp_path):
    """The test library with a real 600x900 poster for Amélie and a real 1280x720 PNG banner
    for Breaking Bad (the shared library's pictures are not pictures: kept for the last test)."""
    root = tmp_path / "pictured"
    shutil.copytree(library_template, root)
    (root / "Movies/Amélie (2001)/poster.jpg").write_bytes(picture_bytes(600, 900))
    (root / "Shows/Breaking Bad (2008)/banner.jpg").unlink()
    (root / "Shows/Breaking Bad (2008)/banner.png").write_bytes(picture_bytes(1280, 720, "png"))
    app = make_app(root)
    pool = app.app.config["haema.playback"].pool
    jobs = []
    run = pool.run

    def counted(pin, job, ahead=()):
        jobs.append(job)
        return run(pin, job, ahead)
    pool.run = counted
    return app, jobs


def find(app, name, kind):
    return app.get(f"/Items?Recursive=true&IncludeItemTypes={kind}&SearchTerm={name}").json["Items"][0]


def test_pictures_are_scaled_once_and_served_from_the_cache(pictured):
    app, jobs = pictured
    amelie = find(app, "Amelie", "Movie")
    tag = amelie["ImageTags"]["Primary"]
    whole = app.get(f"/Items/{amelie['Id']}/Images/Primary?tag={tag}")
    assert size_of(whole.body) == (600, 900) and not jobs  # no size asked: the file itself
    small = app.get(f"/Items/{amelie['Id']}/Images/Primary?maxWidth=200&tag={tag}&quality=90")
    assert small.content_type == "image/jpeg" and size_of(small.body) == (200, 300)
    assert len(small.body) < len(whole.body)
    again = app.get(f"/items/{amelie['Id']}/images/primary?MAXWIDTH=200&tag={tag}&quality=90")
    assert again.body == small.body and len(jobs) == 1  # from the cache
    filled = app.get(f"/Items/{amelie['Id']}/Images/Primary?fillWidth=100&fillHeight=100&quality=96")
    assert size_of(filled.body) == (100, 150) and len(jobs) == 2
    huge = app.get(f"/Items/{amelie['Id']}/Images/Primary?maxWidth=5000")
    assert size_of(huge.body) == (600, 900)  # never enlarged
    app.get(f"/Items/{amelie['Id']}/Images/Primary?maxWidth=nonsense")  # ignored: the file itself


def test_backdrops_banners_and_stills(pictured):
    app, jobs = pictured
    bad = find(app, "Breaking", "Series")
    assert bad["BackdropImageTags"] and bad["ImageTags"]["Banner"] and bad["ImageTags"]["Primary"]
    backdrop = app.get(f"/Items/{bad['Id']}/Images/Backdrop/0?maxWidth=640&tag={bad['BackdropImageTags'][0]}")
    assert size_of(backdrop.body) == (640, 360)
    assert size_of(app.get(f"/Items/{bad['Id']}/Images/Banner?maxHeight=90").body) == (160, 90)
    listed = app.get(f"/Items/{bad['Id']}/Images").json
    assert {(i["ImageType"], i["ImageTag"]) for i in listed} == {("Backdrop", bad["BackdropImageTags"][0]),
                                                                 *bad["ImageTags"].items()}
    app.get(f"/Items/{bad['Id']}/Images/Backdrop/1", status=404)
    app.get(f"/Items/{bad['Id']}/Images/Logo", status=404)
    app.get(f"/Items/{ids.MOVIES_VIEW}/Images/Primary", status=404)
    episodes = app.get(f"/Shows/{bad['Id']}/Episodes").json["Items"]
    pilot = next(e for e in episodes if e["ParentIndexNumber"] == 1 and e["IndexNumber"] == 1)
    assert pilot["ImageTags"]["Thumb"] and pilot["ParentBackdropImageTags"] == bad["BackdropImageTags"]
    assert pilot["SeriesPrimaryImageTag"] == bad["ImageTags"]["Primary"]
    still = app.get(f"/Items/{pilot['Id']}/Images/Thumb?fillWidth=80&fillHeight=48")
    assert still.content_type == "image/jpeg" and size_of(still.body)[1] == 48
    season = app.get(f"/Shows/{bad['Id']}/Seasons").json["Items"][1]
    assert app.get(f"/Items/{season['Id']}/Images/Primary?maxWidth=100").content_type == "image/jpeg"


def test_a_poster_that_is_no_picture_is_sent_as_it_is(make_app, library_root):
    app = make_app(library_root)
    pool = app.app.config["haema.playback"].pool
    jobs = []
    run = pool.run
    pool.run = lambda pin, job, ahead=(): jobs.append(job) or run(pin, job, ahead)
    amelie = find(app, "Amelie", "Movie")
    for _ in range(2):
        sent = app.get(f"/Items/{amelie['Id']}/Images/Primary?maxWidth=300")
        assert sent.body == (library_root / "Movies/Amélie (2001)/poster.jpg").read_bytes()
    assert len(jobs) == 1  # tried once


def test_a_still_of_a_film_without_a_poster(make_app, tmp_path):
    root = tmp_path / "bare"
    (root / "Movies").mkdir(parents=True)
    make_clip(root / "Movies" / "Solo (2010).mp4", seconds=2.0, width=320, height=180, gop=12)
    app = make_app(root)
    solo = find(app, "Solo", "Movie")
    assert solo["PrimaryImageAspectRatio"] == 16 / 9 and solo["ImageTags"]["Thumb"] == solo["ImageTags"]["Primary"]
    assert size_of(app.get(f"/Items/{solo['Id']}/Images/Primary?maxWidth=100").body)[0] == 100


def test_seek_previews_as_jellyfins_trickplay(app):
    heat = find(app, "Heat", "Movie")
    assert "Trickplay" not in heat  # a listing leaves it out unless Fields asks
    full = app.get(f"/Items/{heat['Id']}").json
    info = full["Trickplay"][heat["Id"]]
    [(width, layout)] = info.items()
    assert int(width) == layout["Width"] and layout["TileWidth"] * layout["TileHeight"] >= layout["ThumbnailCount"]
    assert layout["Interval"] == 1000 and layout["ThumbnailCount"] == 2  # a 2 s clip: a preview a second
    queue = app.get(f"/Items?Ids={heat['Id']}&Fields=Chapters,Trickplay").json["Items"]  # jellyfin-web's play queue
    assert queue[0]["Trickplay"] == full["Trickplay"] and queue[0]["Chapters"] == [] and "MediaSources" not in queue[0]
    assert "Trickplay" not in app.get(f"/Items?Ids={heat['Id']}").json["Items"][0]  # the shared listing is unchanged
    sheet = app.get(f"/Videos/{heat['Id']}/Trickplay/{width}/0.jpg?MediaSourceId={heat['Id']}")
    assert size_of(sheet.body) == (layout["Width"] * min(layout["TileWidth"], layout["ThumbnailCount"]),
                                   layout["Height"])
    assert sheet.body == app.get(f"/api/v1/video/{ids.parse(heat['Id']).id}/trickplay/0.jpg").body  # Haema's own
    app.get(f"/Videos/{heat['Id']}/Trickplay/{int(width) + 2}/0.jpg", status=404)
    app.get(f"/Videos/{heat['Id']}/Trickplay/{width}/1.jpg", status=404)
