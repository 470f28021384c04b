"""Keyframe indexes: read from the container's index where it can be trusted."""
import av
import pytest

from haema import probe

from .clips import make_clip


@pytest.mark.parametrize("name", ["clip.mp4", "clip.mkv"])
def test_the_container_index_gives_the_keyframes_a_packet_scan_finds(tmp_path, name):
    path = str(tmp_path / name)
    make_clip(path, seconds=6, width=160, height=96, gop=24, bframes=3)
    with av.open(path) as container:
        from_index = probe._from_index(container, container.streams.video[0])
    with av.open(path) as container:
        scan = probe._scan_packets(container, container.streams.video[0])
    assert from_index is not None, "fell back to scanning every packet"
    assert from_index == scan.keyframes
    # a constant-rate closed-GOP file needs nothing more than its keyframes
    assert probe.read_keyframes(path) == {"time_base": probe.read_keyframes(path)["time_base"],
                                          "pts": scan.keyframes, "end": scan.end}


def test_a_variable_rate_video_lists_every_frame_time(tmp_path):
    path = str(tmp_path / "phone.mp4")
    make_clip(path, seconds=4, width=160, height=96, fps=30, gop=60, bframes=0, vfr="phone")
    with av.open(path) as container:
        frames = sorted(p.pts for p in container.demux(container.streams.video[0]) if p.size)
    keyframes = probe.read_keyframes(path)
    assert probe.unpack_times(keyframes["frames"]) == frames
    assert "shown_from" not in keyframes


def test_an_open_gop_keyframe_is_shown_from_its_leading_frames(tmp_path):
    path = str(tmp_path / "open_gop.mp4")
    make_clip(path, seconds=4, width=160, height=96, gop=24, bframes=3, options={"x264-params": "scenecut=0:open-gop=1"})
    keyframes = probe.read_keyframes(path)
    shown_from = keyframes["shown_from"]
    assert shown_from[0] == keyframes["pts"][0]  # the first keyframe has nothing before it
    assert all(s < k for s, k in zip(shown_from[1:], keyframes["pts"][1:]))
    assert "frames" not in keyframes
