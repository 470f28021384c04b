"""What a video file is, read with PyAV: stream facts for the API and the HLS plan.

The types of what is known of a file live here, the keyframe index's too (which
keyframe_index.py reads). Readers open the file themselves and return frozen
dataclasses (``MediaInfo``, ``Keyframes``): plain data, pickled to the workers as it
is, so results can be cached per file version and sent over pipes. Only their
``to_json``/``from_json`` make JSON of them: for the database at the model's fields
(models.py), for the API in catalog.py.
"""
import base64
import contextlib
import dataclasses
import fractions
import logging
import os
import zlib

from . import codecs
from .errors import HaemaError
from .lazy import lazy_import

av = lazy_import("av")
numpy = lazy_import("numpy")

log = logging.getLogger(__name__)

# Raised whenever probe() or keyframe_index.read_keyframes() learns new facts: the next scan then
# probes every file again, which also clears its keyframes for the background pass.
# 3: frame times of variable-rate videos, leading frames of open GOPs.
VERSION = 3

# Sources whose video the "original" variant copies, and the container it is copied
# into: H.264 into MPEG-TS, which every HLS player reads; HEVC, VP9 and AV1 into
# fragmented MP4, the only container HLS allows them in. Only 4:2:0 at 8 or 10 bits:
# what hardware decoders take (H.264 at 8 bits only: browsers do not decode High 10).
COPYABLE_VIDEO = {
    "h264": ("mpegts", {"yuv420p", "yuvj420p"}),
    "hevc": ("mp4", {"yuv420p", "yuvj420p", "yuv420p10le"}),
    "vp9": ("mp4", {"yuv420p", "yuv420p10le"}),
    "av1": ("mp4", {"yuv420p", "yuv420p10le"}),
}
# Audio that fMP4 variants may offer untouched beside an AAC rendition.
COPYABLE_AUDIO = {"aac", "opus", "flac", "ac3", "eac3"}
TEXT_SUBTITLES = {"subrip", "srt", "webvtt", "ass", "ssa", "mov_text", "text"}


class ProbeError(HaemaError):
    """The file is not a playable video; the message is the reason shown in scan reports."""

    def __init__(self, message):
        super().__init__(message, 422)


# ---------------------------------------------------------------------------
# Types
#
# Field names are the keys of the stored JSON, which rows written before these types
# existed share; a field that such rows may lack has a default.


@dataclasses.dataclass(frozen=True, kw_only=True)
class VideoStream:
    index: int
    codec: str  # FFmpeg's canonical name: "h264", "hevc", "av1"
    codec_string: str | None  # CODECS of HLS ("avc1.640028"); None where none can be written
    range: str  # "SDR", "PQ" or "HLG"
    profile: str | None
    profile_id: int | None  # H.264's numeric profile
    level: int | None
    width: int
    height: int
    pix_fmt: str
    sample_aspect_ratio: tuple[int, int]  # (1, 1) for square pixels
    fps: float | None
    time_base: tuple[int, int]
    bit_rate: int
    rotation: int
    interlaced: bool
    has_b_frames: bool
    # frames decoded ahead of display; FFmpeg learns it by decoding a few frames at open,
    # which the encoder workers skip (segment.state.open_input); None: scanned before it was kept
    reorder_depth: int | None = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class AudioStream:
    index: int
    codec: str
    codec_string: str | None
    profile: str | None
    channels: int
    sample_rate: int
    bit_rate: int
    language: str | None
    title: str | None
    default: bool


@dataclasses.dataclass(frozen=True, kw_only=True)
class SubtitleStream:
    index: int
    codec: str
    language: str | None
    title: str | None
    text: bool  # text cues that become WebVTT; pictures (PGS, VobSub) are not offered


@dataclasses.dataclass(frozen=True, kw_only=True)
class Sidecar:
    """A subtitle file beside the video, found and read by the scan (library.py)."""

    file: str  # relative to the library root, posix
    format: str  # its extension: "srt", "vtt", "ass"...
    language: str | None
    forced: bool
    encoding: str | None  # as the scan found it, so a request reads it the same way


@dataclasses.dataclass(frozen=True, kw_only=True)
class MediaInfo:
    """What ``probe`` found in a file, and the sidecar subtitles the scan found beside it."""

    container: str  # FFmpeg's format name: "mov,mp4,m4a,3gp,3g2,mj2", "matroska,webm"
    title: str | None = None  # the file's own title tag, if any
    duration: float
    start_time: float
    bit_rate: int
    video: VideoStream
    # a track this FFmpeg cannot decode, or that never decoded in probing, is left out
    audio: tuple[AudioStream, ...]
    subtitles: tuple[SubtitleStream, ...]
    sidecars: tuple[Sidecar, ...] = ()

    def to_json(self):
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data):
        video = data["video"]
        return cls(**{
            **data,
            "video": VideoStream(**{**video, "sample_aspect_ratio": tuple(video["sample_aspect_ratio"]),
                                    "time_base": tuple(video["time_base"])}),
            "audio": tuple(AudioStream(**a) for a in data["audio"]),
            "subtitles": tuple(SubtitleStream(**s) for s in data["subtitles"]),
            "sidecars": tuple(Sidecar(**s) for s in data.get("sidecars", ())),
        })


@dataclasses.dataclass(frozen=True, kw_only=True)
class Keyframes:
    """The main video's keyframes (``keyframe_index.read_keyframes``): what the HLS plan is made from.

    Times are integers in ``time_base``. ``frames`` and ``shown_from`` are only there
    when the file needs them (see ``read_keyframes``)."""

    time_base: fractions.Fraction
    pts: tuple[int, ...]  # presentation times, sorted
    end: int  # just after the last frame
    frames: str | None = None  # every frame's time, packed (``pack_times``): a variable-rate video
    shown_from: tuple[int, ...] | None = None  # per keyframe, the earliest frame of its open GOP

    def frame_times(self):
        """Every frame's time, unpacked; None for a constant-rate video."""
        return None if self.frames is None else unpack_times(self.frames)

    def to_json(self):
        data = {"time_base": [self.time_base.numerator, self.time_base.denominator], "pts": list(self.pts),
                "end": self.end}
        if self.frames is not None:
            data["frames"] = self.frames
        if self.shown_from is not None:
            data["shown_from"] = list(self.shown_from)
        return data

    @classmethod
    def from_json(cls, data):
        shown_from = data.get("shown_from")
        return cls(time_base=fractions.Fraction(*data["time_base"]), pts=tuple(data["pts"]), end=data["end"],
                   frames=data.get("frames"), shown_from=None if shown_from is None else tuple(shown_from))


def pack_times(times):
    """Sorted timestamps as text for the JSON index: their differences, zlib'd, in
    base64. A two-hour VFR film's 170,000 frame times take about 100 KB, which every
    request that loads the video row parses in 0.1 ms; as a JSON list, 1.8 MB and 25 ms.
    numpy loads on the first call (lazy.py): encoder workers use the media types of
    this module but never pack, and need not carry its 12 MB."""
    deltas = numpy.diff(numpy.asarray(times, dtype="<i8"), prepend=0)
    return base64.b64encode(zlib.compress(deltas.tobytes())).decode("ascii")


def unpack_times(text):
    """The timestamps ``pack_times`` packed."""
    return numpy.cumsum(numpy.frombuffer(zlib.decompress(base64.b64decode(text)), dtype="<i8")).tolist()


# ---------------------------------------------------------------------------
# Facts


def reading(packets_or_frames):
    """PyAV's ``demux()`` or ``decode()`` generator, closed when the ``with`` block ends.

    A demux generator frees its read packet and stream mask (147 bytes) only when it is
    closed or runs out, not when one left part-way is dropped (PyAV 18). Every segment
    leaves one part-way, and the heap fragmented around the leaked blocks: in a copy
    worker, 5,000 segments left 730 KB more in use and 5 MB more heap."""
    return contextlib.closing(packets_or_frames)


def probe(path):
    """Open ``path``, decode one video frame to prove it plays, and describe it."""
    try:
        with av.open(path, metadata_errors="ignore") as container:
            return _describe(container)
    except av.FFmpegError as error:
        raise ProbeError(f"cannot be read: {error.strerror or error}") from None
    except (UnicodeDecodeError, OSError) as error:
        raise ProbeError(f"cannot be read: {error}") from None


def _describe(container):
    if not container.streams.video:
        raise ProbeError("has no video stream")
    video = main_video(container)
    first = _first_frame(container, video)
    duration = _duration(container, video)
    readable = _readable_duration(container, video)
    if readable is not None and readable < duration:
        log.warning("%s is truncated: %.3f of its %.3f s can be read", container.name, readable, duration)
        duration = readable
    if duration <= 0:
        raise ProbeError("has no duration")
    ctx = video.codec_context
    fps = float(video.average_rate or video.guessed_rate or 0) or None
    codec = ctx.codec.canonical_name  # "av1", where ctx.name is the decoder, "libdav1d"
    return MediaInfo(
        container=container.format.name,
        title=container.metadata.get("title") or None,
        duration=duration,
        start_time=(container.start_time or 0) / av.time_base,
        bit_rate=container.bit_rate or 0,
        video=VideoStream(
            index=video.index,
            codec=codec,
            codec_string=codecs.video_codec(codec, ctx.extradata, ctx.profile, ctx.width, ctx.height, fps or 0,
                                            codecs.bit_depth(ctx.pix_fmt)),
            range=codecs.video_range(ctx.color_trc),
            profile=ctx.profile,
            profile_id=_profile_id(ctx),
            level=ctx.level if ctx.level and ctx.level > 0 else None,
            width=ctx.width,
            height=ctx.height,
            pix_fmt=ctx.pix_fmt,
            sample_aspect_ratio=_ratio(video.sample_aspect_ratio or ctx.sample_aspect_ratio),
            fps=fps,
            time_base=(video.time_base.numerator, video.time_base.denominator),
            bit_rate=ctx.bit_rate or 0,
            rotation=int(first.rotation or 0),
            interlaced=bool(first.interlaced_frame),
            has_b_frames=bool(ctx.has_b_frames),
            reorder_depth=ctx.reorder_depth or 0,
        ),
        audio=tuple(_audio(stream, container) for stream in container.streams.audio
                    if stream.codec_context is not None and stream.codec_context.sample_rate),
        subtitles=tuple(_subtitle(stream) for stream in container.streams.subtitles
                        if stream.codec_context is not None),
    )


def _ratio(value):
    """A pixel shape such as DVD's 16:15; square pixels (1:1) when unknown."""
    if not value or value.numerator <= 0 or value.denominator <= 0:
        return (1, 1)
    return (value.numerator, value.denominator)


def main_video(container):
    """The first video stream that is a real video, not cover art in an MKV/MP4."""
    for stream in container.streams.video:
        if stream.codec_context is None:
            continue
        if not stream.disposition & av.stream.Disposition.attached_pic:
            return stream
    raise ProbeError("has no video this server can decode")


def _first_frame(container, video):
    try:
        with reading(container.decode(video)) as frames:
            for frame in frames:
                return frame
    except av.FFmpegError as error:
        raise ProbeError(f"video does not decode: {error.strerror or error}") from None
    raise ProbeError("video has no frames (empty or truncated)")


def _duration(container, video):
    if container.duration:
        return container.duration / av.time_base
    if video.duration:
        return float(video.duration * video.time_base)
    return 0.0


def _readable_duration(container, video):
    """Seconds that can really be read, when the index points past the end of the file.

    A download or copy cut short often keeps an MP4's index (written first by
    "faststart") while its data stops early: the header then promises the whole length.
    The last GOP that starts inside the file is read to find the last whole packet.
    None when the index fits in the file (or there is none to judge by).
    """
    size = os.path.getsize(container.name)
    entries = [e for stream in (video, *container.streams.audio) for e in stream.index_entries[-1:]]
    if not entries or max(e.pos + e.size for e in entries) <= size:
        return None
    inside = [e.timestamp for e in video.index_entries if e.is_keyframe and e.pos + e.size <= size]
    if not inside:
        return 0.0
    container.seek(inside[-1], stream=video, backward=True, any_frame=False)
    one_frame = frame_duration(video)
    end = None
    with reading(container.demux(video)) as packets:
        for packet in packets:
            if packet.pts is None or packet.is_corrupt:
                continue
            end = max(end or packet.pts, packet.pts + (packet.duration or one_frame))
    start = (container.start_time or 0) / av.time_base
    return 0.0 if end is None else float(end * video.time_base) - start


def _profile_id(ctx):
    """The numeric profile for CODECS strings (avc1.PPCCLL); PyAV exposes only the name."""
    return {"Baseline": 66, "Constrained Baseline": 66, "Main": 77, "Extended": 88, "High": 100,
            "High 10": 110, "High 4:2:2": 122, "High 4:4:4 Predictive": 244}.get(ctx.profile)


def _audio(stream, container):
    ctx = stream.codec_context
    return AudioStream(
        index=stream.index,
        codec=ctx.codec.canonical_name,
        codec_string=codecs.audio_codec(ctx.codec.canonical_name, ctx.profile),
        profile=ctx.profile,
        channels=ctx.channels,
        sample_rate=ctx.sample_rate,
        bit_rate=ctx.bit_rate or 0,
        language=_language(stream),
        title=stream.metadata.get("title"),
        default=bool(stream.disposition & av.stream.Disposition.default),
    )


def _subtitle(stream):
    return SubtitleStream(
        index=stream.index,
        codec=stream.codec_context.name,
        language=_language(stream),
        title=stream.metadata.get("title"),
        text=stream.codec_context.name in TEXT_SUBTITLES,
    )


def _language(stream):
    language = stream.language or stream.metadata.get("language")
    return None if language in (None, "und", "") else language


def default_audio(info):
    """The track a player starts with: the one flagged default, else the first."""
    tracks = info.audio
    return next((t for t in tracks if t.default), tracks[0] if tracks else None)


def copy_container(info):
    """The container the "original" variant copies this video into ("mpegts" or
    "mp4"), or None when it must be transcoded. A rotated picture is transcoded: the
    rotation would be lost in MPEG-TS and is ignored by MSE players in MP4."""
    video = info.video
    container, pixel_formats = COPYABLE_VIDEO.get(video.codec, (None, ()))
    if video.pix_fmt not in pixel_formats or video.rotation:
        return None
    if container == "mp4" and not video.codec_string:
        return None  # a CODECS string cannot be written: no player would pick the variant
    return container


def is_copyable(info):
    """Can the "original" variant copy this video, rather than transcode it?"""
    return copy_container(info) is not None


def frame_duration(video):
    """One frame's duration in the stream's time base, from its average rate."""
    rate = video.average_rate or video.guessed_rate or 25
    return max(1, round(1 / (rate * video.time_base)))
