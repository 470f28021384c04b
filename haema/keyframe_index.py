"""The keyframe index of a video, read with PyAV: what the HLS plan (hls.py) is cut on.

Apart from probe.py's stream facts because it is read apart from them: after the scan,
by the background pass (fills.py), or by a worker when a video is played before that
pass reached it. Reading it opens the file again, never decodes, and reads every packet
only when the container's own index leaves doubt. The result is probe.py's ``Keyframes``.
"""
import dataclasses
import fractions
import logging

from .lazy import lazy_import
from .probe import COPYABLE_VIDEO, Keyframes, ProbeError, frame_duration, main_video, pack_times, reading

av = lazy_import("av")

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True, kw_only=True)
class KeyframesJob:
    """``read_keyframes`` in a worker, for a video the background pass has not reached."""

    key: str
    path: str
    quick = False  # the whole file read: the encoders' lane

    def run(self, state, cancelled=None):
        return read_keyframes(self.path)


def read_keyframes(path):
    """Presentation times of the main video's keyframes, without decoding.

    Returns ``Keyframes``, ``end`` being the time just after the last frame. Segment boundaries are presentation times, while
    MP4's index holds decode times; so the index is only trusted once a few keyframes
    read back agree with it, and otherwise every packet is read (demuxed, never decoded).

    Two facts a keyframe list cannot give are added when the file needs them, so that
    every planned boundary is where a frame is really shown:
    - ``frames``, every frame's time (``pack_times``), for a variable-rate video (a
      phone's): the transcoded grid cuts between keyframes, and only real frame times
      say where;
    - ``shown_from``, per keyframe the earliest time among it and the frames decoded
      after it up to the next keyframe, for an open GOP of a codec that can be copied:
      its leading B-frames are shown before it but travel with it when copied, so a
      copy segment starts there.
    Either is found by reading every packet, done only when the index leaves doubt: a
    keyframe off the nominal frame grid, or a sampled keyframe with leading frames.
    """
    # Everything read from ``video`` is read while its container is open: a stream of a
    # closed container is freed memory (its time base once came back as -2045443448/32577).
    try:
        with av.open(path, metadata_errors="ignore") as container:
            video = main_video(container)
            pts = _from_index(container, video)
            end = _end_after(container, video, pts[-1]) if pts and _on_frame_grid(pts, video) else None
            if end is not None:
                return Keyframes(time_base=fractions.Fraction(video.time_base), pts=tuple(pts),
                                 end=end, frames=None, shown_from=None)
        with av.open(path, metadata_errors="ignore") as container:
            video = main_video(container)
            scan = _scan_packets(container, video)
            if not scan.keyframes:
                raise ProbeError("video has no keyframes")
            frames = None if _on_frame_grid(scan.frames, video) else pack_times(scan.frames)
            leading = scan.shown_from != scan.keyframes and _copyable_codec(video)
            return Keyframes(time_base=fractions.Fraction(video.time_base), pts=tuple(scan.keyframes), end=scan.end,
                             frames=frames, shown_from=tuple(scan.shown_from) if leading else None)
    except av.FFmpegError as error:
        raise ProbeError(f"cannot read keyframes: {error.strerror or error}") from None


def _from_index(container, video):
    """Keyframe times from the container's index, or None when they cannot be trusted
    as they are (disagreeing packets, or an open GOP's leading frames to find)."""
    entries = [e.timestamp for e in video.index_entries if e.is_keyframe]
    if len(entries) < 2 and "matroska" in container.format.name:
        container.seek(0)  # Matroska reads its cues on the first seek (it opens with one entry)
        entries = [e.timestamp for e in video.index_entries if e.is_keyframe]
    if len(entries) < 2:
        return None
    shift = None  # presentation minus decode time of keyframes: constant in practice
    step = max(1, len(entries) // 4)
    for timestamp in sorted(set(entries[::step] + entries[-1:])):
        packet, following = _first_packet_at(container, video, timestamp)
        if packet is None or not packet.is_keyframe or packet.pts is None:
            return None
        if following is not None and following.pts is not None and following.pts < packet.pts \
                and _copyable_codec(video):
            log.debug("%s: open GOP; scanning for leading frames", container.name)
            return None
        if shift is None:
            shift = packet.pts - timestamp
        elif packet.pts - timestamp != shift:
            log.debug("%s: keyframe index disagrees with packets; scanning", container.name)
            return None
    return [t + shift for t in entries]


def _first_packet_at(container, video, timestamp):
    """The keyframe packet an index entry points at, and the packet after it (None if
    none). MP4 indexes decode times, Matroska presentation times (and leaves decode
    times unset after a seek), so either matches."""
    container.seek(timestamp, stream=video, backward=True, any_frame=False)
    found = None
    with reading(container.demux(video)) as packets:
        for packet in packets:
            if found is not None:
                return found, packet if packet.size else None
            if packet.is_keyframe and timestamp in (packet.dts, packet.pts):
                found = packet
            elif packet.dts is not None and packet.dts > timestamp:
                return None, None
    return found, None


@dataclasses.dataclass(frozen=True)
class _Scan:
    keyframes: list
    end: int
    frames: list  # every frame's presentation time, sorted
    shown_from: list  # per keyframe: the earliest time of its GOP in decode order


def _scan_packets(container, video):
    """Every packet is demuxed (not decoded). The demuxer's own skipping of non-key
    packets (``Discard.nonkey``) loses MP4 composition offsets, so it is not used."""
    keyframes, shown_from, frames, end = [], [], set(), None
    one_frame = frame_duration(video)
    for packet in container.demux(video):
        if packet.pts is None or packet.is_corrupt:  # a corrupt one was cut short by the file's end
            continue
        if packet.is_keyframe and packet.pts not in frames:
            keyframes.append(packet.pts)
            shown_from.append(packet.pts)
        elif shown_from:
            shown_from[-1] = min(shown_from[-1], packet.pts)
        frames.add(packet.pts)
        end = max(end or packet.pts, packet.pts + (packet.duration or one_frame))
    order = sorted(range(len(keyframes)), key=keyframes.__getitem__)
    return _Scan([keyframes[i] for i in order], end, sorted(frames), [shown_from[i] for i in order])


def _copyable_codec(video):
    """Leading frames matter only to copied segments: a transcoded one is cut on frame
    times, so a video no variant copies (an MPEG-2 broadcast's open GOPs) skips them."""
    return video.codec_context.codec.canonical_name in COPYABLE_VIDEO


def _on_frame_grid(times, video):
    """Is each of ``times`` a whole number of nominal frames after the one before (to a
    tick of rounding, as Matroska's milliseconds round 1001/24 ms frames)? A constant
    rate video's keyframes and frames are; a variable rate one's drift off. Pairs, not
    distances from the first, so that a rate known to a few digits does not drift."""
    step = 1 / (fractions.Fraction(video.average_rate or video.guessed_rate or 25) * video.time_base)
    return all(abs(b - a - round((b - a) / step) * step) <= 1 for a, b in zip(times, times[1:]))


def _end_after(container, video, last_keyframe):
    """Time just after the last frame: read the last GOP, which is cheap. None when a
    keyframe follows: the index stops before the file does. A Matroska file whose cues
    never got written (a recording cut off, a download cut short, a file written to a
    pipe) indexes only the keyframes its first seek came across, the first two seconds
    or so; trusted, a whole film would be one segment."""
    container.seek(last_keyframe, stream=video, backward=True)
    one_frame = frame_duration(video)
    end = last_keyframe + one_frame
    with reading(container.demux(video)) as packets:
        for packet in packets:
            if packet.pts is not None and not packet.is_corrupt:
                if packet.is_keyframe and packet.pts > last_keyframe:
                    log.debug("%s: the keyframe index stops before the file's end; scanning", container.name)
                    return None
                end = max(end, packet.pts + (packet.duration or one_frame))
    return end
