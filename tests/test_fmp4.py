"""fmp4.py on boxes written by hand: no media, no files."""
import struct

import pytest

from haema import fmp4


def box(kind, payload=b""):
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def traf(track_id, tfdt_version=1):
    tfhd = box(b"tfhd", b"\0\0\0\0" + struct.pack(">I", track_id))
    value = struct.pack(">Q", 0) if tfdt_version else struct.pack(">I", 0)
    return box(b"traf", tfhd + box(b"tfdt", bytes([tfdt_version, 0, 0, 0]) + value) + box(b"trun", b"\0" * 8))


def tfdt_values(fragment):
    found = {}
    for offset in range(len(fragment) - 4):
        if fragment[offset:offset + 4] == b"tfhd":
            track = struct.unpack_from(">I", fragment, offset + 8)[0]
        if fragment[offset:offset + 4] == b"tfdt":
            version = fragment[offset + 4]
            found[track] = struct.unpack_from(">Q" if version else ">I", fragment, offset + 8)[0]
    return found


HEADER = box(b"ftyp", b"isom\0\0\2\0") + box(b"moov", box(b"mvhd", b"\0" * 100))


def test_split_cuts_before_the_first_fragment():
    fragment = box(b"moof", box(b"mfhd", b"\0" * 8) + traf(1)) + box(b"mdat", b"data")
    assert fmp4.split(HEADER + fragment) == (HEADER, fragment)
    assert fmp4.split(HEADER) == (HEADER, b"")


def test_each_track_gets_its_own_decode_time():
    fragment = box(b"moof", box(b"mfhd", b"\0" * 8) + traf(1) + traf(2, tfdt_version=0)) + box(b"mdat", b"x" * 9)
    patched = fmp4.set_decode_times(fragment, {1: 900_000 + (1 << 33), 2: 480_000})
    assert tfdt_values(patched) == {1: 900_000 + (1 << 33), 2: 480_000}
    assert len(patched) == len(fragment) and patched.endswith(box(b"mdat", b"x" * 9))


def test_a_32_bit_time_that_would_overflow_is_refused():
    fragment = box(b"moof", traf(1, tfdt_version=0))
    with pytest.raises(fmp4.BoxError):
        fmp4.set_decode_times(fragment, {1: 1 << 32})


def test_truncated_boxes_are_refused():
    with pytest.raises(fmp4.BoxError):
        fmp4.split(box(b"moov", b"\0" * 20)[:-4])


def test_files_are_split_without_reading_the_media_whole(tmp_path):
    """What a worker does with its muxer's file: the header to one file, the fragment
    (tfdt set) to another."""
    fragment = box(b"moof", box(b"mfhd", b"\0" * 8) + traf(1)) + box(b"mdat", b"m" * 100_000)
    muxed = tmp_path / "muxed"
    muxed.write_bytes(HEADER + fragment)
    fmp4.write_header(muxed, tmp_path / "init.mp4")
    fmp4.write_fragment(muxed, tmp_path / "0.m4s", {1: 12345})
    assert (tmp_path / "init.mp4").read_bytes() == HEADER
    written = (tmp_path / "0.m4s").read_bytes()
    assert tfdt_values(written) == {1: 12345} and written.endswith(box(b"mdat", b"m" * 100_000))
