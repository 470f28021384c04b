"""HLS over the real WSGI app: playlists, segments from the worker pool, the cache."""
import io
import os
import re

import av
import gevent
import pytest

from harness.clips import make_clip


def video_id(app, title):
    show = next(s for s in app.get("/api/v1/shows").json if s["info"]["title"] == title)
    return show["info"]["id"] if show["type"] == "movie" else show["episodes"][0]["id"]


def test_master_lists_original_first_with_codecs(app):
    response = app.get(f"/api/v1/video/{video_id(app, 'Heat')}/master.m3u8")
    assert response.content_type == "application/vnd.apple.mpegurl"
    variants = re.findall(r"^([^#\s].*)$", response.text, re.M)
    assert variants[0] == "original/stream.m3u8"
    assert 'CODECS="avc1.' in response.text and "mp4a.40.2" in response.text


def test_every_segment_of_the_playlist_is_a_transport_stream(app):
    vid = video_id(app, "Heat")
    playlist = app.get(f"/api/v1/video/{vid}/original/stream.m3u8").text
    for name in reversed(re.findall(r"^(\d+\.ts)$", playlist, re.M)):
        response = app.get(f"/api/v1/video/{vid}/original/{name}")
        assert response.content_type == "video/mp2t"
        with av.open(io.BytesIO(response.body), format="mpegts") as container:
            assert container.streams.video and container.streams.audio


def test_segments_carry_an_etag_from_the_file_version(app):
    url = f"/api/v1/video/{video_id(app, 'Heat')}/original/0.ts"
    first = app.get(url)
    assert first.headers["ETag"]
    assert app.get(url, headers={"If-None-Match": first.headers["ETag"]}, status=304).body == b""


def test_cached_segment_is_served_identically(app, tmp_path):
    url = f"/api/v1/video/{video_id(app, 'Heat')}/original/0.ts"
    assert app.get(url).body == app.get(url).body
    assert list((tmp_path / "cache" / "segments").rglob("0.ts"))


def test_no_segment_is_written_with_the_cache_off(make_app, library_root, tmp_path):
    app = make_app(library_root, cache=False)
    app.get(f"/api/v1/video/{video_id(app, 'Heat')}/original/0.ts")
    assert not list((tmp_path / "cache").rglob("*.ts"))


def test_the_master_playlist_has_the_first_copy_segment_made_ahead(make_app, library_root, tmp_path):
    """A player asks for segment 0 right after the playlists: the quick worker opens the
    file and makes it meanwhile, and the request takes what was made."""
    app = make_app(library_root, prefetch=2)
    vid = video_id(app, "Heat")
    app.get(f"/api/v1/video/{vid}/master.m3u8")
    segments = tmp_path / "cache" / "segments"
    # made ahead, pending until a request takes it; if it never is, pytest-timeout fails the test
    while not list(segments.rglob("0.ts.*.tmp")):
        gevent.sleep(0.05)
    pending = list(segments.rglob("0.ts.*.tmp"))
    body = app.get(f"/api/v1/video/{vid}/original/0.ts").body
    assert not any(p.exists() for p in pending)
    assert [p.name for p in segments.rglob("0.ts")] == ["0.ts"]
    with av.open(io.BytesIO(body), format="mpegts") as container:
        assert container.streams.video and container.streams.audio


def test_a_source_that_needs_audio_encoding_plays(app):
    vid = video_id(app, "Cowboy Bebop")  # Opus audio, encoded to AAC
    body = app.get(f"/api/v1/video/{vid}/original/0.ts").body
    with av.open(io.BytesIO(body), format="mpegts") as container:
        assert container.streams.audio[0].codec_context.name == "aac"


def test_sidecar_subtitles_are_a_webvtt_rendition(app):
    vid = video_id(app, "Amélie")
    master = app.get(f"/api/v1/video/{vid}/master.m3u8").text
    assert 'TYPE=SUBTITLES,GROUP-ID="subs",NAME="Français",LANGUAGE="fr"' in master
    assert 'SUBTITLES="subs"' in master
    assert "0.vtt" in app.get(f"/api/v1/video/{vid}/subtitles_0/stream.m3u8").text
    vtt = app.get(f"/api/v1/video/{vid}/subtitles_0/0.vtt")
    assert vtt.content_type == "text/vtt"
    assert vtt.text.startswith("WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:900000,LOCAL:00:00:00.000")
    assert "00:00:00.500 --> 00:00:01.500\nBonjour" in vtt.text


@pytest.mark.parametrize("suffix", [
    "nope/stream.m3u8", "original/99.ts", "original/-1.ts", "original/x.ts", "original/1e3.ts",
    "original/..%2F..%2Fetc%2Fpasswd", "subtitles_0/0.ts", "original/0.vtt", "..%2Foriginal/0.ts",
])
def test_bad_playback_urls_are_json_404(app, suffix):
    response = app.get(f"/api/v1/video/{video_id(app, 'Heat')}/{suffix}", status=404)
    assert response.content_type == "application/json"


def test_unknown_video_is_404(app):
    app.get("/api/v1/video/0123456789abcdef/master.m3u8", status=404)
    app.get("/api/v1/video/0123456789abcdef/original/0.ts", status=404)


def test_a_missing_file_is_a_clear_404(app, library_root):
    vid = video_id(app, "Heat")
    (library_root / "Movies/Heat (1995).mp4").unlink()
    response = app.get(f"/api/v1/video/{vid}/master.m3u8", status=404)
    assert "missing" in response.json["error"]


def test_byte_ranges_of_a_segment(app):
    url = f"/api/v1/video/{video_id(app, 'Heat')}/original/0.ts"
    whole = app.get(url).body
    part = app.get(url, headers={"Range": "bytes=100-299"}, status=206)
    assert part.body == whole[100:300]
    assert part.headers["Content-Range"] == f"bytes 100-299/{len(whole)}"
    assert app.get(url, headers={"Range": "bytes=-50"}, status=206).body == whole[-50:]
    app.get(url, headers={"Range": f"bytes={len(whole)}-"}, status=416)


def test_with_the_cache_off_a_segment_leaves_no_file_behind(make_app, library_root):
    """The worker's spool file is unlinked once the web process has it open."""
    app = make_app(library_root, cache=False)
    spool = app.app.config["haema.playback"].store.spool
    vid = video_id(app, "Amélie")
    master = app.get(f"/api/v1/video/{vid}/master.m3u8").text
    subtitles = re.search(r'TYPE=SUBTITLES.*URI="([^/]+)/', master).group(1)
    assert app.get(f"/api/v1/video/{vid}/{subtitles}/0.vtt").text.startswith("WEBVTT")
    assert app.get(f"/api/v1/video/{vid}/original/0.ts").body
    assert os.listdir(spool) == []


def test_only_transcoded_segments_are_made_ahead(make_app, library_root):
    """A copy takes milliseconds: making it ahead saves its viewer nothing, and on the one
    quick worker that every viewer of a copy shares, those segments were mostly dropped
    unasked. A transcode is worth starting before the player asks."""
    make_clip(library_root / "Movies" / "Rear Window (1954).mp4", seconds=12)
    make_clip(library_root / "Movies" / "Vertigo (1958).mkv", seconds=8, video_codec="mpeg4")
    app = make_app(library_root, prefetch=3)
    pool = app.app.config["haema.playback"].pool
    asked = []

    def run(pin, job, ahead=()):
        asked.append((job.key.rsplit("/", 2)[1:], [later.key.rsplit("/", 1)[1] for later in ahead]))
        return real_run(pin, job, ahead)

    real_run, pool.run = pool.run, run
    copied, transcoded = video_id(app, "Rear Window"), video_id(app, "Vertigo")
    variant = re.findall(r"^([^#\s].*)/stream.m3u8$", app.get(f"/api/v1/video/{transcoded}/master.m3u8").text, re.M)[0]
    app.get(f"/api/v1/video/{copied}/original/1.ts")
    app.get(f"/api/v1/video/{transcoded}/{variant}/1.ts")
    assert asked == [(["original", "1.ts"], []), ([variant, "1.ts"], ["2.ts", "3.ts"])]
