"""Keyframe indexes: read from the container's index where it can be trusted. Facts
stored as JSON and read back typed."""
import dataclasses
import json

import av
import pytest

from haema import keyframe_index, probe
from haema.models import Video

from harness.clips import make_clip


@pytest.mark.parametrize("name", ["clip.mp4", "clip.mkv"])
def test_the_container_index_gives_the_keyframes_a_packet_scan_finds(tmp_path, name, monkeypatch):
    path = str(tmp_path / name)
    make_clip(path, seconds=6, width=160, height=96, gop=24, bframes=3)
    with av.open(path) as container:
        from_index = keyframe_index._from_index(container, container.streams.video[0])
    with av.open(path) as container:
        scan = keyframe_index._scan_packets(container, container.streams.video[0])
    assert from_index is not None, "fell back to scanning every packet"
    assert from_index == scan.keyframes
    # a constant-rate closed-GOP file needs nothing more than its keyframes, read from its index
    monkeypatch.setattr(keyframe_index, "_scan_packets", lambda *_: pytest.fail("scanned every packet"))
    keyframes = keyframe_index.read_keyframes(path)
    assert (keyframes.pts, keyframes.end, keyframes.frames, keyframes.shown_from) == \
        (tuple(scan.keyframes), scan.end, None, None)


class _Pipe:
    """A place to write that cannot seek back, as a pipe: a muxer cannot go back to add
    an index there."""

    def __init__(self):
        self.data = bytearray()

    def write(self, data):
        self.data += data
        return len(data)


def _without_cues(path, how):
    """The Matroska file at ``path`` as one whose cues (its keyframe index, written last)
    are missing: cut short by a download or recording that stopped, or written to a pipe."""
    if how == "cut short":
        with open(path, "r+b") as file:
            file.truncate(file.seek(0, 2) * 6 // 10)
        return
    pipe = _Pipe()
    with av.open(path) as source, av.open(pipe, "w", format="matroska") as out:
        streams = {stream.index: out.add_stream_from_template(stream) for stream in source.streams}
        for packet in source.demux():
            if packet.dts is not None:
                packet.stream = streams[packet.stream.index]
                out.mux(packet)
    with open(path, "wb") as file:
        file.write(pipe.data)


@pytest.mark.parametrize("how", ["cut short", "written to a pipe"])
def test_a_matroska_file_without_its_cues_has_every_keyframe(tmp_path, how):
    """Without cues, Matroska's first seek indexes only the keyframes it comes across, the
    first few: trusted, a whole film was one segment. Every keyframe is found."""
    path = str(tmp_path / "recording.mkv")
    make_clip(path, seconds=12, width=160, height=96, gop=24, bframes=0)
    _without_cues(path, how)
    with av.open(path) as container:
        scan = keyframe_index._scan_packets(container, container.streams.video[0])
    assert len(scan.keyframes) >= 6
    keyframes = keyframe_index.read_keyframes(path)
    assert (keyframes.pts, keyframes.end) == (tuple(scan.keyframes), scan.end)


def test_a_variable_rate_video_lists_every_frame_time(tmp_path):
    path = str(tmp_path / "phone.mp4")
    make_clip(path, seconds=4, width=160, height=96, fps=30, gop=60, bframes=0, vfr="phone")
    with av.open(path) as container:
        frames = sorted(p.pts for p in container.demux(container.streams.video[0]) if p.size)
    keyframes = keyframe_index.read_keyframes(path)
    assert keyframes.frame_times() == frames
    assert keyframes.shown_from is None


def test_an_open_gop_keyframe_is_shown_from_its_leading_frames(tmp_path):
    path = str(tmp_path / "open_gop.mp4")
    make_clip(path, seconds=4, width=160, height=96, gop=24, bframes=3, options={"x264-params": "scenecut=0:open-gop=1"})
    keyframes = keyframe_index.read_keyframes(path)
    shown_from = keyframes.shown_from
    assert shown_from[0] == keyframes.pts[0]  # the first keyframe has nothing before it
    assert all(s < k for s, k in zip(shown_from[1:], keyframes.pts[1:]))
    assert keyframes.frames is None


def test_facts_read_back_equal_from_the_database_field_and_rows_stored_before(tmp_path):
    """The model fields are where ``MediaInfo`` and ``Keyframes`` become JSON and back.
    Rows written before the types existed hold the same keys, minus what was added
    later: the title tag and the reorder depth (an older row reads them as None)."""
    path = str(tmp_path / "phone.mkv")
    make_clip(path, seconds=2, width=160, height=96, fps=30, gop=30, bframes=0, vfr="phone", audio_tracks=2)
    info, keyframes = probe.probe(path), keyframe_index.read_keyframes(path)
    assert keyframes.frames is not None and len(info.audio) == 2
    sidecar = probe.Sidecar(file="phone.en.srt", format="srt", language="en", forced=False, encoding="utf-8")
    info = dataclasses.replace(info, sidecars=(sidecar,))
    assert Video.info.python_value(Video.info.db_value(info)) == info
    assert Video.keyframes.python_value(Video.keyframes.db_value(keyframes)) == keyframes

    stored = json.loads(Video.info.db_value(info))
    assert stored["video"]["time_base"] == list(info.video.time_base)  # JSON as before: [num, den]
    del stored["title"], stored["video"]["reorder_depth"]
    older = Video.info.python_value(json.dumps(stored))
    assert older == dataclasses.replace(info, title=None, video=dataclasses.replace(info.video, reorder_depth=None))
    assert set(json.loads(Video.keyframes.db_value(dataclasses.replace(keyframes, frames=None)))) == \
        {"time_base", "pts", "end"}  # a constant-rate closed-GOP file's, as before
