"""Damaged files: a file cut short plays what it has, and no bad file costs the others anything.

A truncated MP4 keeps its index (written first, "faststart") while its data stops early,
as a download or a copy cut short leaves it. A file damaged after its scan (its bytes
zeroed, size and modification time kept) is one the index still believes in.
"""
import logging
import os
import re


from haema import keyframe_index
from haema.library import Library

from harness.clips import make_clip

FULL_SECONDS = 6.0


def truncated_clip(path, keep=0.5, **options):
    """A faststart MP4 of ``FULL_SECONDS`` cut after ``keep`` of its bytes."""
    options = {"fps": 12, "gop": 12, **options}
    make_clip(path, seconds=FULL_SECONDS, container_options={"movflags": "+faststart"}, **options)
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


def damage(path, how="zeroed"):
    """Zero the second half of a file (keeping its size), or cut it short at 40 %, keeping
    its modification time: the index still takes it for the file it scanned."""
    stat = os.stat(path)
    size = stat.st_size
    with open(path, "r+b") as file:
        if how == "zeroed":
            file.seek(size // 2)
            file.write(bytes(size - size // 2))
        else:
            file.truncate(size * 4 // 10)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))


def segments(app, video_id):
    """Every segment of every variant and rendition: ``(url, response)``."""
    master = app.get(f"/api/v1/video/{video_id}/master.m3u8").text
    for name in re.findall(r'^(\S+)/stream\.m3u8|URI="([^"/]+)/stream\.m3u8"', master, re.M):
        name = "".join(name)
        playlist = app.get(f"/api/v1/video/{video_id}/{name}/stream.m3u8").text
        for segment in re.findall(r"^(\d+\.ts)$", playlist, re.M):
            url = f"/api/v1/video/{video_id}/{name}/{segment}"
            yield url, app.get(url, expect_errors=True)


def playlist_seconds(app, video_id, name):
    text = app.get(f"/api/v1/video/{video_id}/{name}/stream.m3u8").text
    return sum(float(value) for value in re.findall(r"#EXTINF:([\d.]+),", text))


def only_show(app, search):
    [show] = app.get(f"/api/v1/shows?search={search}").json
    return show["info"]["id"]


def test_truncated_mp4_plays_what_it_has(make_app, tmp_path):
    root = tmp_path / "media"
    (root / "Movies").mkdir(parents=True)
    truncated_clip(root / "Movies" / "Cut Short (2020).mp4", width=640, height=480)
    app = make_app(root)

    video_id = only_show(app, "cut")
    duration = app.get(f"/api/v1/video/{video_id}").json["duration"]
    # what the data holds, not what the header promises
    assert 1.0 < duration < FULL_SECONDS - 1
    keyframes = keyframe_index.read_keyframes(str(root / "Movies" / "Cut Short (2020).mp4"))
    readable = (keyframes.end - keyframes.pts[0]) * keyframes.time_base
    assert abs(duration - readable) < 0.01
    for name in ("original", "360p_h264"):  # a copy and a transcode both end where the data ends
        assert abs(playlist_seconds(app, video_id, name) - duration) < 0.01
    answers = {url: response.status_int for url, response in segments(app, video_id)}
    assert len(answers) > 2 and set(answers.values()) == {200}, answers


def test_file_damaged_after_its_scan_answers_422_never_500(make_app, tmp_path):
    """Its bytes zeroed, its size and time kept: the index still believes in it."""
    root = tmp_path / "media"
    (root / "Movies").mkdir(parents=True)
    path = root / "Movies" / "Scratched (2020).mp4"
    make_clip(path, seconds=FULL_SECONDS, width=640, height=480, fps=12, gop=12,
              container_options={"movflags": "+faststart"})
    app = make_app(root)
    damage(path, "zeroed")

    answers = {url: response for url, response in segments(app, only_show(app, "scratched"))}
    statuses = {response.status_int for response in answers.values()}
    assert statuses == {200, 422}, {url: r.status_int for url, r in answers.items()}
    for response in answers.values():
        if response.status_int == 422:
            assert "damaged" in response.json["error"]
        else:
            assert response.body  # never an empty segment that a player would wait on


def test_file_cut_short_after_its_scan_is_gone_until_a_rescan(make_app, tmp_path):
    """Another size is another file: 410 and a reason, never a 500, until a rescan
    indexes what is there now."""
    root = tmp_path / "media"
    (root / "Movies").mkdir(parents=True)
    path = root / "Movies" / "Scratched (2020).mp4"
    make_clip(path, seconds=FULL_SECONDS, width=640, height=480, fps=12, gop=12,
              container_options={"movflags": "+faststart"})
    app = make_app(root)
    video_id = only_show(app, "scratched")
    damage(path, "cut short")
    response = app.get(f"/api/v1/video/{video_id}/master.m3u8", status=410)
    assert "rescan" in response.json["error"]
    app.app.config["haema.library"].scan()
    assert {status for _, status in ((u, r.status_int) for u, r in segments(app, video_id))} <= {200, 422}


def test_one_bad_file_leaves_every_show_its_thumbnail(tmp_path, caplog):
    """Shows without posters get a frame of their video. A file cut short, first in the
    library, gets one too; a file damaged after the scan is skipped, named once in the
    log, and the shows after it still get theirs."""
    from haema.models import Show, Video
    from haema.storage import open_database

    root = tmp_path / "media"
    names = ["A Cut Short Show", "B Damaged Show", "C Good Show", "D Good Show"]
    for name in names:
        (root / "Shows" / name).mkdir(parents=True)
    truncated_clip(root / "Shows" / names[0] / f"{names[0]} - 01.mp4", width=160, height=96)
    truncated_clip(root / "Shows" / names[1] / f"{names[1]} - 01.mp4", keep=1.0, width=160, height=96, gop=3)
    for name in names[2:]:
        make_clip(root / "Shows" / name / f"{name} - 01.mp4", seconds=2, width=160, height=96, fps=12, gop=12)
    open_database(str(tmp_path / "haema.db"))
    library = Library(str(root), str(tmp_path / "thumbnails"), str(tmp_path / "trickplay"))
    library.scan()
    damaged = root / "Shows" / names[1] / f"{names[1]} - 01.mp4"
    damaged.write_bytes(damaged.read_bytes()[: damaged.stat().st_size // 20])  # its index left, its frames gone

    with caplog.at_level(logging.WARNING, logger="haema.fills"):
        library.fill_keyframes()
        library.fill_thumbnails()

    frames = {show.title: video.frame for show in Show.select() for video in show.videos}
    assert frames.pop(names[1]) is None
    assert all(frames.values()) and len(frames) == 3, frames
    for frame in frames.values():
        assert os.path.getsize(tmp_path / "thumbnails" / frame) > 0
    named = [record.getMessage() for record in caplog.records if f"{names[1]} - 01.mp4" in record.getMessage()]
    assert [message.split(" for ")[0] for message in named] in (["no thumbnail"], ["no keyframes", "no thumbnail"])
    assert Video.select().where(Video.frame.is_null()).count() == 1
