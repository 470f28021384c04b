"""Fragmented MP4 (CMAF) as HLS wants it, from what FFmpeg's muxer writes.

The segment package makes every segment with a muxer of its own, so FFmpeg writes the movie
header (``ftyp`` + ``moov``) and then one fragment (``moof`` + ``mdat``) whose decode
times count from the first packet of that muxer. HLS wants the header once, as the
init section named by ``#EXT-X-MAP``, and fragments that carry their own place on the
file's timeline in ``tfdt`` (baseMediaDecodeTime): that is what lets a player put a
segment fetched after a seek in the right place, and segments made in any order join.

With FFmpeg 8 (PyAV 18) no muxer option makes a muxer's first fragment carry its
absolute time (``frag_discont`` and ``use_editlist 0`` were tried: tfdt stays 0), so
that one field is set here, in place; everything else is FFmpeg's.
"""
import shutil
import struct


class BoxError(ValueError):
    """The bytes are not the fragmented MP4 this module expects."""


def split(data):
    """``(init section, fragment)``: everything before the first ``moof``, and the rest."""
    for offset, kind, _size in _boxes(data, 0, len(data)):
        if kind == b"moof":
            return data[:offset], data[offset:]
    return data, b""


def set_decode_times(fragment, first_decode_times):
    """``fragment`` with each track's ``tfdt`` set to ``first_decode_times[track_id]``
    (in the track's timescale); tracks not named keep theirs."""
    out = bytearray(fragment)
    for offset, kind, size in _boxes(out, 0, len(out)):
        if kind != b"moof":
            continue
        for traf, traf_kind, traf_size in _boxes(out, offset + 8, offset + size):
            if traf_kind == b"traf":
                _set_tfdt(out, traf, traf_size, first_decode_times)
    return bytes(out)


def _set_tfdt(out, traf, size, first_decode_times):
    track_id, tfdt = None, None
    for offset, kind, _size in _boxes(out, traf + 8, traf + size):
        if kind == b"tfhd":
            track_id = struct.unpack_from(">I", out, offset + 12)[0]
        elif kind == b"tfdt":
            tfdt = offset
    if track_id not in first_decode_times:
        return
    if tfdt is None:
        raise BoxError(f"track {track_id} has no tfdt")
    value = first_decode_times[track_id]
    if out[tfdt + 8] == 1:
        struct.pack_into(">Q", out, tfdt + 12, value)
    elif value < 1 << 32:
        struct.pack_into(">I", out, tfdt + 12, value)
    else:
        raise BoxError("a 32-bit tfdt cannot hold this time")


def _boxes(data, start, end):
    """``(offset, type, size)`` of each box between ``start`` and ``end``."""
    offset = start
    while offset + 8 <= end:
        size, kind = struct.unpack_from(">I4s", data, offset)
        if size == 1:
            size = struct.unpack_from(">Q", data, offset + 8)[0]
        elif size == 0:
            size = end - offset
        if size < 8 or offset + size > end:
            raise BoxError(f"a {kind!r} box overruns its parent")
        yield offset, bytes(kind), size
        offset += size


# ---------------------------------------------------------------------------
# Files: what a worker writes, without holding a segment in memory


def write_header(muxed, target):
    """Copy the init section of the muxer's output file ``muxed`` to ``target``."""
    with open(muxed, "rb") as source, open(target, "wb") as out:
        size = _header_size(source)
        source.seek(0)
        out.write(source.read(size))


def write_fragment(muxed, target, first_decode_times):
    """Copy the fragment of the muxer's output file ``muxed`` to ``target``, with its
    tfdt set (``set_decode_times``). Only the ``moof`` box is read whole; the media data
    is copied in chunks."""
    with open(muxed, "rb") as source, open(target, "wb") as out:
        source.seek(_header_size(source))
        head = source.read(8)
        size, kind = struct.unpack(">I4s", head) if len(head) == 8 else (0, b"")
        if kind != b"moof" or size < 8:
            raise BoxError("the muxer wrote no fragment")
        out.write(set_decode_times(head + source.read(size - 8), first_decode_times))
        shutil.copyfileobj(source, out)


def _header_size(source):
    """Bytes before the first ``moof`` (the whole file when there is none), reading box
    headers only."""
    source.seek(0, 2)
    end = source.tell()
    offset = 0
    while offset + 8 <= end:
        source.seek(offset)
        size, kind = struct.unpack(">I4s", source.read(8))
        if kind == b"moof":
            return offset
        if size == 1:
            size = struct.unpack(">Q", source.read(8))[0]
        elif size == 0:
            size = end - offset
        if size < 8:
            raise BoxError(f"a {kind!r} box has size {size}")
        offset += size
    return end
