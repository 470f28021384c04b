"""Fragmented MP4 variants: the source's own codec copied, made in any order, aligned.

The hm_transcode checks of test_transcode.py, on init section + fragment: every
segment of every fMP4 variant and audio rendition is made out of order with real PyAV
and read back; it must open with a keyframe, hold exactly the frames of its interval,
carry its place on the file's timeline in its fragment header, join the next one's
audio exactly, and come out byte-identical when made again.
"""
import io

import av
import pytest

from haema import fmp4, hls, keyframe_index, playlists, probe
from haema.made import Destination
from haema.segment.clock import OUTPUT_ORIGIN
from haema.segment.jobs import segment_job

from harness.clips import make_clip
from .test_transcode import SETTINGS, SPOOL, assert_audio_joins, run, source_frames

CLOSED_GOP = "keyint=24:min-keyint=24:bframes=2:open-gop=0:log-level=error"
KINDS = {
    "hevc8_aac.mp4": dict(video_codec="libx265", options={"x265-params": CLOSED_GOP}),
    "hevc10_opus.mkv": dict(video_codec="libx265", pix_fmt="yuv420p10le", audio_codec="libopus",
                            options={"x265-params": CLOSED_GOP}),
    "hevc_eac3.mkv": dict(video_codec="libx265", audio_codec="eac3", options={"x265-params": CLOSED_GOP}),
    "hevc_flac.mkv": dict(video_codec="libx265", audio_codec="flac", options={"x265-params": CLOSED_GOP}),
    # x265's default: CRA keyframes whose leading pictures are shown before them
    "hevc_open_gop.mkv": dict(video_codec="libx265", options={"x265-params": CLOSED_GOP.replace("open-gop=0",
                                                                                                 "open-gop=1")}),
    "vp9_opus.webm": dict(video_codec="libvpx-vp9", audio_codec="libopus"),
    "av1_opus.mkv": dict(video_codec="libsvtav1", audio_codec="libopus", fps=30, gop=30),
    "av1_aac.mp4": dict(video_codec="libsvtav1", fps=24),
}


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cmaf")
    for name, options in KINDS.items():
        make_clip(folder / name, **{"seconds": 6, "width": 192, "height": 108, "gop": 24, **options})
    return folder


def plan(path):
    info = probe.probe(str(path))
    keyframes = keyframe_index.read_keyframes(str(path))
    timeline = hls.plan_timeline(keyframes, 4.0, 2.0)
    return info, keyframes, timeline


def job(path, info, keyframes, timeline, rendition, index, init=False):
    return segment_job(rendition, index, key="k", destination=Destination(cache_file=None, spool=SPOOL),
                       path=str(path), info=info, keyframes=keyframes, timeline=timeline, settings=SETTINGS, init=init)


def make(*args, **kwargs):
    """The bytes of the file the job writes."""
    return run(job(*args, **kwargs))


def make_all(path, info, keyframes, timeline, rendition):
    """The init section, and every segment made last to first."""
    count = len(hls.boundaries(timeline, rendition)) - 1
    init = make(path, info, keyframes, timeline, rendition, 0, init=True)
    return init, {i: make(path, info, keyframes, timeline, rendition, i) for i in reversed(range(count))}


def read(init, fragment):
    """Packets of one segment as a player reads them: the init section, then it."""
    with av.open(io.BytesIO(init + fragment), format="mp4") as container:
        return [(p.stream.type, p.pts, p.dts, p.is_keyframe, p.time_base) for p in container.demux() if p.size]


@pytest.mark.parametrize("name", sorted(KINDS))
def test_copy_variant_in_the_sources_codec_is_aligned(sources, name):
    path = sources / name
    info, keyframes, timeline = plan(path)
    variants = hls.plan_variants(info)
    original = variants[0]
    assert (original.name, original.copy, original.container) == ("original", True, "mp4")
    assert original.codecs == info.video.codec_string
    assert all(v.container == "mp4" for v in variants)
    assert_video_aligned(path, info, keyframes, timeline, original)


def test_transcoded_variant_of_an_fmp4_source_is_aligned(sources):
    path = sources / "hevc10_opus.mkv"
    info, keyframes, timeline = plan(path)
    h264 = hls.plan_variants(info)[1]
    assert (h264.copy, h264.container) == (False, "mp4")
    assert_video_aligned(path, info, keyframes, timeline, h264)


def assert_video_aligned(path, info, keyframes, timeline, variant):
    bounds = hls.boundaries(timeline, variant)
    count = len(bounds) - 1
    init, segments = make_all(path, info, keyframes, timeline, variant)
    assert fmp4.split(init) == (init, b""), "the init section holds media"
    expected = source_frames(path, keyframes)
    seen = []
    for index in range(count):
        packets = read(init, segments[index])
        assert {kind for kind, *_ in packets} == {"video"}, "audio belongs in its renditions"
        assert packets[0][3], f"segment {index} does not open with a keyframe"
        start, end = bounds[index], bounds[index + 1]
        wanted = [out for src, out in expected if (index == 0 or src >= start) and (index == count - 1 or src < end)]
        got = sorted(pts for _, pts, *_ in packets)
        assert got == wanted, f"segment {index} holds other frames than its interval"
        seen += got
    assert seen == [out for _, out in expected], "frames lost or duplicated"
    # made again, alone and in another order: the same bytes
    assert make(path, info, keyframes, timeline, variant, 1) == segments[1]
    assert make(path, info, keyframes, timeline, variant, count - 1, init=True) == init


@pytest.mark.parametrize("name", sorted(KINDS))
def test_audio_renditions_join_exactly(sources, name):
    """Every copied packet exactly once over all segments; encoded AAC steps one frame."""
    path = sources / name
    info, keyframes, timeline = plan(path)
    renditions = hls.plan_audio(info)
    groups = {r.group for r in renditions}
    track = info.audio[0]
    assert groups == ({"aac"} if track.codec == "aac" else {"aac", "original"})
    for rendition in renditions:
        init, segments = make_all(path, info, keyframes, timeline, rendition)
        every = []
        for index in range(len(segments)):
            packets = read(init, segments[index])
            assert packets and {kind for kind, *_ in packets} == {"audio"}
            every += [(pts, time_base) for _, pts, _, _, time_base in packets]
        times = [round(pts * time_base * 90000) for pts, time_base in every]
        if rendition.original or track.codec == "aac":
            assert times == source_audio_90k(path, keyframes, rendition.stream_index)
        else:
            assert_audio_joins(times)


def source_audio_90k(path, keyframes, stream_index):
    """Every packet of the track, on the output timeline, but those over before the
    first picture (an MP4's AAC priming frame): the media starts where the playlist does."""
    time_base = keyframes.time_base
    origin = keyframes.pts[0] * time_base
    with av.open(str(path)) as container:
        stream = container.streams[stream_index]
        return [round((p.pts * stream.time_base - origin + OUTPUT_ORIGIN) * 90000)
                for p in container.demux(stream)
                if p.size and p.pts is not None and (p.pts + p.duration) * stream.time_base > origin]


def test_master_lists_the_original_first_with_codecs_for_each_audio_choice(sources):
    info, _, _ = plan(sources / "hevc10_opus.mkv")
    text = playlists.master_playlist(hls.plan_variants(info), hls.plan_audio(info))
    streams = [line for line in text.splitlines() if line.startswith("#EXT-X-STREAM-INF")]
    codec = info.video.codec_string
    assert f'CODECS="{codec},opus",AUDIO="original"' in streams[0]
    assert f'CODECS="{codec},mp4a.40.2",AUDIO="aac"' in streams[1]
    assert 'CODECS="avc1.' in streams[2]
    assert "#EXT-X-VERSION:7" in text
    timeline = hls.plan_timeline(keyframe_index.read_keyframes(str(sources / "hevc10_opus.mkv")), 4.0)
    media = playlists.media_playlist(timeline, hls.plan_variants(info)[0])
    assert '#EXT-X-MAP:URI="init.mp4"' in media and "0.m4s" in media


def test_hevc_is_tagged_hvc1_for_apple(sources):
    path = sources / "hevc8_aac.mp4"
    info, keyframes, timeline = plan(path)
    init = make(path, info, keyframes, timeline, hls.plan_variants(info)[0], 0, init=True)
    assert b"hvc1" in init and b"hvcC" in init and b"hev1" not in init


@pytest.mark.parametrize("transfer, video_range", [("smpte2084", "PQ"), ("arib-std-b67", "HLG")])
def test_hdr_sources_say_their_video_range(tmp_path, transfer, video_range):
    path = tmp_path / f"hdr_{video_range}.mkv"
    make_clip(path, seconds=1, width=192, height=108, video_codec="libx265", pix_fmt="yuv420p10le", audio_codec=None,
              options={"x265-params": f"colorprim=bt2020:transfer={transfer}:colormatrix=bt2020nc:log-level=error"})
    info = probe.probe(str(path))
    original, h264 = hls.plan_variants(info)[:2]
    assert (original.video_range, h264.video_range) == (video_range, "SDR")
    text = playlists.master_playlist([original, h264])
    assert text.count(f"VIDEO-RANGE={video_range}") == 1


def test_h264_sources_stay_mpeg_ts(sources, tmp_path):
    path = tmp_path / "h264.mp4"
    make_clip(path, seconds=2, width=192, height=108)
    info = probe.probe(str(path))
    assert {v.container for v in hls.plan_variants(info)} == {"mpegts"}
    assert hls.plan_audio(info) == []
