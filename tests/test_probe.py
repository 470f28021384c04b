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
        scanned, end = probe._scan_packets(container, container.streams.video[0])
    assert from_index is not None, "fell back to scanning every packet"
    assert from_index == scanned
    assert probe.read_keyframes(path) == {"time_base": probe.read_keyframes(path)["time_base"], "pts": scanned,
                                          "end": end}
