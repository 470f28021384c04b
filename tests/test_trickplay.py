"""Seek previews and trick play: the layout and playlist texts as pure functions, then
sheets and I-frames made from real clips and served by the app."""
import io
import re

import av
import numpy

from haema import playlists, probe, trickplay
from haema.segment.clock import OUTPUT_ORIGIN

from harness.clips import make_clip
from .test_hls import copy_variant, extinfs, timeline


# -- pure ----------------------------------------------------------------------


def test_a_long_film_gets_a_tile_every_ten_seconds_on_full_sheets():
    layout = trickplay.plan(2 * 3600 + 5, 1920, 800)
    assert (layout.interval, layout.tiles, layout.tile_width, layout.tile_height) == (10, 721, 240, 100)
    assert (layout.sheets, layout.columns, layout.sheet_rows(7)) == (8, 10, 3)
    assert layout.place(0) == (0, 0, 0) and layout.place(123) == (1, 3 * 240, 2 * 100)


def test_a_short_clip_gets_one_row_as_wide_as_its_tiles_and_a_portrait_one_stays_upright():
    layout = trickplay.plan(4.2, 1080, 1920)
    assert (layout.interval, layout.tiles, layout.columns, layout.sheets) == (1, 5, 5, 1)
    assert (layout.tile_width, layout.tile_height) == (136, 240)


def test_webvtt_cues_cover_the_video_and_point_into_the_sheets():
    layout = trickplay.plan(205, 1280, 720)  # 5 s tiles: 41 of them, one sheet
    text = trickplay.webvtt(layout, 205)
    assert text.startswith("WEBVTT\n\n00:00:00.000 --> 00:00:05.000\n0.jpg#xywh=0,0,240,136\n")
    assert "00:03:20.000 --> 00:03:25.000\n0.jpg#xywh=0,544,240,136" in text
    assert text.count("-->") == 41


def test_image_playlist_describes_each_sheet_with_its_tiles():
    layout = trickplay.plan(1500, 1280, 720)  # 10 s tiles, 150 of them: a full sheet and half of one
    text = trickplay.image_playlist(layout, 1500)
    assert "#EXT-X-IMAGES-ONLY" in text and text.rstrip().endswith("#EXT-X-ENDLIST")
    assert re.findall(r"#EXT-X-TILES:(.*)", text) == [
        "RESOLUTION=240x136,LAYOUT=10x10,DURATION=10.000", "RESOLUTION=240x136,LAYOUT=10x5,DURATION=10.000"]
    assert extinfs(text) == [1000.0, 500.0]


def test_master_lists_i_frame_and_image_playlists_after_the_variants():
    text = playlists.master_playlist([copy_variant()], iframes=copy_variant(), images=trickplay.plan(60, 1920, 1080))
    lines = text.splitlines()
    assert lines[-2] == ('#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=1200000,RESOLUTION=1920x1080,CODECS="avc1.640028",'
                         'URI="original/iframes.m3u8"')
    assert lines[-1].startswith("#EXT-X-IMAGE-STREAM-INF:") and 'URI="trickplay/images.m3u8"' in lines[-1]
    assert 'CODECS="jpeg",RESOLUTION' not in lines[-1] and "RESOLUTION=240x136" in lines[-1]
    assert playlists.master_playlist([copy_variant()]) == "\n".join(lines[:-2]) + "\n"


def test_i_frame_playlist_has_one_entry_per_keyframe_until_the_next():
    text = playlists.iframe_playlist(timeline([0, 2000, 7000], 9500))
    assert "#EXT-X-I-FRAMES-ONLY" in text and "#EXT-X-TARGETDURATION:5" in text
    assert extinfs(text) == [2.0, 5.0, 2.5]
    assert re.findall(r"^iframes/\d+\.ts$", text, re.M) == ["iframes/0.ts", "iframes/1.ts", "iframes/2.ts"]


# -- real clips through the app ---------------------------------------------------


def heat(app):
    return next(s for s in app.get("/api/v1/shows").json if s["info"]["title"] == "Heat")["info"]["id"]


def test_sheets_made_after_the_scan_are_served_with_the_tracks(app):
    video_id = heat(app)
    track = app.get(f"/api/v1/video/{video_id}/trickplay/thumbnails.vtt")
    assert track.content_type == "text/vtt"
    first_cue = re.search(r"(\d+)\.jpg#xywh=(\d+),(\d+),(\d+),(\d+)", track.text)
    sheet = app.get(f"/api/v1/video/{video_id}/trickplay/{first_cue[1]}.jpg")
    with av.open(io.BytesIO(sheet.body)) as container:
        image = next(container.decode(video=0)).to_ndarray(format="rgb24")
    width, height = int(first_cue[4]), int(first_cue[5])
    assert image.shape[1] >= width and image.shape[0] == height  # one row of 160x96 tiles
    assert image[:, :width].std() > 10  # a picture, not a blank tile
    playlist = app.get(f"/api/v1/video/{video_id}/trickplay/images.m3u8")
    assert playlist.content_type == "application/vnd.apple.mpegurl" and "0.jpg" in playlist.text
    assert app.get(f"/api/v1/video/{video_id}/trickplay/1.jpg", status=404)


def test_a_rotated_video_gets_upright_tiles(tmp_path):
    """A phone's portrait video is stored sideways with a rotation to show it by; its
    tiles are scaled before they are turned, and must equal the picture turned first."""
    path = str(tmp_path / "portrait.mp4")
    make_clip(path, seconds=2, width=192, height=108, gop=12, rotation=90, audio_codec=None)
    info = probe.probe(path)
    layout = trickplay.video_layout(info)
    assert layout.tile_height > layout.tile_width
    with av.open(trickplay.make_sheet(path, info, 0, str(tmp_path / "0.jpg"))) as sheet:
        tile = next(sheet.decode(video=0)).to_ndarray(format="rgb24")[:layout.tile_height, :layout.tile_width]
    with av.open(path) as container:
        picture = next(container.decode(video=0)).to_ndarray(format="rgb24")

    def turned(turns):
        upright = numpy.ascontiguousarray(numpy.rot90(picture, turns))
        return av.VideoFrame.from_ndarray(upright, format="rgb24").to_ndarray(
            width=layout.tile_width, height=layout.tile_height, format="rgb24").astype(int)

    error = abs(tile.astype(int) - turned(info.video.rotation // 90)).mean()
    assert error < 12 and error * 3 < abs(tile.astype(int) - turned(info.video.rotation // 90 + 2)).mean()


def test_an_mpeg_ts_video_has_a_picture_in_every_tile_to_its_end(tmp_path):
    """MPEG-TS seeks by bytes, and near the end lands after the last keyframe: its tiles
    there were left blank."""
    path = str(tmp_path / "broadcast.ts")
    make_clip(path, seconds=6, width=192, height=108, gop=24, container_format="mpegts", audio_codec=None)
    info = probe.probe(path)
    layout = trickplay.video_layout(info)
    with av.open(trickplay.make_sheet(path, info, 0, str(tmp_path / "0.jpg"))) as sheet:
        image = next(sheet.decode(video=0)).to_ndarray(format="rgb24")
    tiles = [image[y:y + layout.tile_height, x:x + layout.tile_width]
             for _, x, y in map(layout.place, range(layout.tiles))]
    assert len(tiles) >= 6 and all(tile.std() > 10 for tile in tiles)


def test_a_sheet_not_made_yet_is_made_on_demand(make_app, library_root, tmp_path):
    app = make_app(library_root, scan=False)
    app.app.config["haema.library"].scan()  # no background fills: no sheet exists
    video_id = heat(app)
    assert not (tmp_path / "cache" / "trickplay").exists()
    sheet = app.get(f"/api/v1/video/{video_id}/trickplay/0.jpg")
    assert sheet.content_type == "image/jpeg" and sheet.body[:2] == b"\xff\xd8"
    assert len(list((tmp_path / "cache" / "trickplay").rglob("0.jpg"))) == 1


def test_an_i_frame_is_the_keyframe_alone_on_the_variants_clock(app):
    video_id = heat(app)
    master = app.get(f"/api/v1/video/{video_id}/master.m3u8").text
    assert 'URI="original/iframes.m3u8"' in master and 'URI="trickplay/images.m3u8"' in master
    playlist = app.get(f"/api/v1/video/{video_id}/original/iframes.m3u8").text
    entries = re.findall(r"^iframes/(\d+)\.ts$", playlist, re.M)
    assert len(entries) == 4  # a 2 s clip with a keyframe every 12 frames at 24 fps
    segment = app.get(f"/api/v1/video/{video_id}/original/iframes/1.ts")
    with av.open(io.BytesIO(segment.body)) as container:
        packets = [p for p in container.demux(video=0) if p.size]
        frames = list(container.streams.video[0].codec_context.decode(packets[0]))
        frames += container.streams.video[0].codec_context.decode(None)  # flush: the decoder may hold it back
    assert len(packets) == 1 and packets[0].is_keyframe
    assert abs(float(packets[0].pts * packets[0].time_base) - (OUTPUT_ORIGIN + 0.5)) < 1e-3
    assert len(frames) == 1 and numpy.asarray(frames[0].to_ndarray()).any()
    assert app.get(f"/api/v1/video/{video_id}/original/iframes/4.ts", status=404)
    assert app.get(f"/api/v1/video/{video_id}/360p_h264/iframes.m3u8", status=404)
