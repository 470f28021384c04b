"""The HLS plan as data: keyframes in, segment boundaries and variants out.

Nothing here opens a file, and playlists.py writes the plan out as text. The media
playlist is "fake": it is computed from the source's keyframe times before any segment
exists, and each segment is later made on its own from its boundaries (the segment package).
Every time is an integer in the source video's time base, so a boundary means exactly
the same frame everywhere.

Sources whose video is copied in a codec other than H.264 (HEVC, VP9, AV1) are served
as fragmented MP4 (CMAF), every variant of them, with audio as renditions of its own:
an AAC group every player decodes and, for Opus, FLAC, AC-3 or E-AC-3 tracks, a group
with the track untouched. A player that decodes the original gets it (CODECS says what
each variant needs), others fall back to H.264 and AAC on their own. H.264 sources stay
MPEG-TS, which every HLS player reads, old TVs included.

Two grids share one timeline:
- copy boundaries are keyframes, merged until a segment reaches the target length
  (a 10 s GOP gives 10 s copy segments);
- the fine grid, for transcoded variants, has a shorter target: inside every copy
  segment, keyframes are merged up to it and what is still longer is cut into equal
  pieces. Every copy boundary is also a fine boundary, and neither a long GOP nor a
  long copy segment means a long wait for a transcoded segment.

Every boundary is the time of a frame that is really shown, so a segment starts where
its playlist says and joins its neighbours with no frame lost or shown twice:
- a cut between keyframes lands on a real frame: on the nominal frame grid of a
  constant-rate source, on one of the listed frame times of a variable-rate one;
- a copied segment carries, in decode order, the leading B-frames of an open GOP's
  keyframe, which are shown before it; its copy boundary is the earliest of them
  (``shown_from``), and that is a fine boundary too, cut between keyframes.
"""
import bisect
import dataclasses
import fractions
import math

import babelfish

from .probe import COPYABLE_AUDIO, copy_container, default_audio

LADDER = (1080, 720, 480, 360)
AUDIO_BITRATE = 128_000


@dataclasses.dataclass(frozen=True)
class Timeline:
    time_base: fractions.Fraction
    keyframes: tuple
    shown_from: tuple  # per keyframe: the earliest frame shown of those copied with it
    copy: tuple  # boundaries of copy segments, the last one being the end of the video
    fine: tuple  # boundaries of transcoded segments, a superset of ``copy``

    def seconds(self, pts):
        return float((pts - self.keyframes[0]) * self.time_base)


@dataclasses.dataclass(frozen=True)
class Segment:
    """One piece of one variant: frames with ``start <= pts < end`` (open-ended at the
    file's first and last segment, so stray early or late frames still land somewhere)."""

    index: int
    start: int
    end: int
    first: bool
    last: bool
    decode_from: int  # the keyframe at or before ``start`` (a copy's: the one shown from it)


@dataclasses.dataclass(frozen=True)
class Variant:
    name: str  # "original" or e.g. "720p_h264"
    copy: bool  # the source's video, untouched, cut on keyframes
    width: int
    height: int
    bandwidth: int  # peak bits per second (with muxed audio; fMP4 variants: video only)
    average_bandwidth: int
    codecs: str  # of the video, and of the muxed audio if any
    frame_rate: float
    container: str = "mpegts"  # or "mp4": fragmented MP4 with an init section
    video_range: str = "SDR"  # or "PQ", "HLG"


@dataclasses.dataclass(frozen=True)
class AudioRendition:
    """One audio track as its own HLS rendition (EXT-X-MEDIA). It is cut on the fine
    grid, so it aligns with every variant."""

    name: str  # "audio_1", or "audio_1_opus" for the track in its own codec
    stream_index: int
    label: str
    language: str
    default: bool
    channels: int
    codec: str = "mp4a.40.2"  # CODECS of what the rendition carries
    bitrate: int = AUDIO_BITRATE
    group: str = "audio"
    container: str = "mpegts"
    original: bool = False  # the track in its own codec, untouched; else AAC (copied or encoded)


@dataclasses.dataclass(frozen=True)
class SubtitleRendition:
    name: str  # "subtitles_0"
    label: str
    language: str
    forced: bool
    sidecar: str = None  # relative path of a subtitle file beside the video, or
    stream_index: int = None  # a text stream inside the video
    encoding: str = None  # of the sidecar, as the scan found it (None: detect again)


# ---------------------------------------------------------------------------
# Timeline


def plan_timeline(keyframes, target_seconds, fine_seconds=None, frame_duration=None):
    """Boundaries for ``keyframes`` (``probe.Keyframes``).

    ``fine_seconds`` (default: ``target_seconds``) is the longest transcoded segment:
    shorter than the copy target, because a transcoded segment costs encoding time before
    the player can start, while a copied one costs next to nothing.
    ``frame_duration`` (time-base units, a fraction where frames are not a whole number
    of ticks, as 1001/24 ms) snaps fine boundaries to whole frames of a constant-rate
    source, so a transcoded segment holds whole frames of equal count. A variable-rate
    source's ``keyframes.frames`` (every frame's time) are used instead.
    """
    tb = keyframes.time_base
    shown = dict(zip(keyframes.pts, keyframes.shown_from or keyframes.pts))
    pts = tuple(sorted(shown))
    end = max(keyframes.end, pts[-1] + 1)
    merged = _merge_keyframes(pts, pts[0], end, target_seconds / tb)
    copy = (merged[0], *(shown[k] for k in merged[1:-1]), merged[-1])
    frames = keyframes.frame_times()
    fine_target = (fine_seconds or target_seconds) / tb
    fine = [copy[0]]
    for start, stop in zip(copy, copy[1:]):
        inside = pts[bisect.bisect_left(pts, start):bisect.bisect_left(pts, stop)]
        cuts = _merge_keyframes(inside, start, stop, fine_target)
        for begin, finish in zip(cuts, cuts[1:]):
            fine += _equal_pieces(begin, finish, fine_target, frame_duration, frames)
    return Timeline(tb, pts, tuple(shown[k] for k in pts), copy, tuple(fine))


def frame_step(info):
    """One frame of the video at its nominal rate, in its time base: a fraction where
    that is no whole number of ticks (1001/24 ms for 23.976 fps in Matroska). None if
    the rate is unknown. Within a hundredth of a whole number of ticks it is that number:
    an average rate taken over a file whose last frame is cut short is a hair off."""
    fps = info.video.fps
    if not fps:
        return None
    step = fractions.Fraction(*reversed(info.video.time_base)) / fractions.Fraction(fps).limit_denominator(1001)
    return round(step) if abs(step - round(step)) < fractions.Fraction(1, 100) else step


def _merge_keyframes(keyframes, start, stop, target):
    """Keyframes from ``start`` on, merged until a segment reaches ``target``, then ``stop``."""
    cuts = [start]
    for keyframe in keyframes:
        if keyframe - cuts[-1] >= target:
            cuts.append(keyframe)
    if len(cuts) > 1 and stop - cuts[-1] < target / 4:
        cuts.pop()  # fold a sliver of a last segment into the one before
    return (*cuts, stop)


def _equal_pieces(start, stop, target, frame_duration, frames=None):
    """Boundaries after ``start`` up to ``stop``: equal pieces no longer than ``target``.

    A piece starting between keyframes costs a cold request the decoding from the
    keyframe before it (reference frames only), which is far cheaper than encoding."""
    pieces = max(1, math.ceil((stop - start) / target - 1e-9))
    cuts = []
    for k in range(1, pieces):
        cut = start + fractions.Fraction(stop - start) * k / pieces
        if frames:
            cut = _nearest(frames, cut)
        elif frame_duration:
            cut = _on_frame(start, round((cut - start) / frame_duration) * frame_duration)
        cut = int(round(cut))
        if (cuts[-1] if cuts else start) < cut < stop:
            cuts.append(cut)
    return cuts + [stop]


def _nearest(frames, time):
    """The frame time in sorted ``frames`` nearest to ``time``."""
    at = bisect.bisect_left(frames, time)
    return min(frames[max(0, at - 1):at + 1], key=lambda frame: abs(frame - time))


def _on_frame(keyframe, offset):
    """The boundary for the frame ``offset`` ticks after ``keyframe``. A fractional
    offset was rounded to a tick by the muxer, either way (a tick either side with the
    keyframe's own rounding): the boundary goes one tick early, so that frame still
    starts the segment rather than ending the one before."""
    if offset == int(offset):
        return keyframe + int(offset)
    return math.ceil(keyframe + offset - 1)


def boundaries(timeline, rendition):
    """Copied video is cut on keyframes; transcoded video and audio on the fine grid."""
    return timeline.copy if isinstance(rendition, Variant) and rendition.copy else timeline.fine


def segment(timeline, variant, index):
    """The ``index``-th segment of ``variant``; ``IndexError`` if there is none."""
    bounds = boundaries(timeline, variant)
    if not 0 <= index < len(bounds) - 1:
        raise IndexError(index)
    start = bounds[index]
    # a copy segment starts with the keyframe whose GOP is shown from ``start``; a
    # transcoded one decodes from the keyframe at or before it
    copied = isinstance(variant, Variant) and variant.copy
    shown_at = timeline.shown_from if copied else timeline.keyframes
    keyframe_index = max(0, bisect.bisect_right(shown_at, start) - 1)
    return Segment(index=index, start=start, end=bounds[index + 1], first=index == 0,
                   last=index == len(bounds) - 2, decode_from=timeline.keyframes[keyframe_index])


# ---------------------------------------------------------------------------
# Variants


def container(info):
    """"mp4" for a source whose video is copied in a codec MPEG-TS cannot carry in HLS,
    else "mpegts"; every variant and rendition of one file uses the same."""
    return "mp4" if copy_container(info) == "mp4" else "mpegts"


def plan_variants(info, max_height=1080):
    """``original`` first when the source can be copied, then a ladder of H.264 sizes.

    No rung is above the source. A source that is not H.264 always gets a rung at its
    own size (capped by ``max_height``), so players that cannot decode it (or that get
    no copy at all) still play it at full quality.

    Beside a copy, no rung costs more bits per pixel than the copy, peak or average (the
    encoder's maxrate is a rung's peak, so this is what it sends): a player choosing by
    bandwidth must not leave the copy for a transcode that looks no better. GStreamer's
    playbin went back and forth between an HEVC copy and the dearer transcode at its
    size, each switch a change of codec, until it stalled for good. The rung at the
    copy's size costs what the copy does: at that tie playbin keeps the copy, and Shaka,
    which keeps one stream per size, the more efficient codec (the copy). (playbin3's
    hlsdemux2 takes the transcode at the tie, as it did when the transcode was dearer.)
    """
    video = info.video
    width, height = _display_size(video)
    fps = video.fps or 25.0
    kind = container(info)
    muxed = _audio_codec(info) if kind == "mpegts" else None  # fMP4 audio is in renditions
    audio_bitrate = AUDIO_BITRATE if muxed else 0
    variants = []
    copy = None
    if copy_container(info):
        bitrate = _source_bitrate(info, with_audio=kind == "mpegts")
        codec = _avc_codec(video) if video.codec == "h264" else video.codec_string
        copy = Variant("original", True, width, height, int(bitrate * 1.5), bitrate, join_codecs(codec, muxed),
                       fps, kind, video.range)
        variants.append(copy)
    # rungs count the short side, as "1080p" does: a portrait 1080x1920 phone video is 1080p
    short = min(width, height)
    rungs = [r for r in LADDER if r < short and r <= max_height]
    if (not variants or video.codec != "h264") and min(short, max_height) not in rungs:
        rungs.insert(0, min(short, max_height))  # full quality for players that only decode H.264
    for rung in rungs:
        w, h = scaled_size(width, height, rung)
        average = _h264_bitrate(w, h, fps) + audio_bitrate
        peak = int(average * 1.6)
        if copy is not None:
            share = (w * h) / (width * height)
            peak, average = min(peak, int(copy.bandwidth * share)), min(average, int(copy.average_bandwidth * share))
        variants.append(Variant(f"{min(w, h)}p_h264", False, w, h, peak, average,
                                join_codecs(f"avc1.6400{h264_level(w, h, fps):02x}", muxed), fps, kind))
    return variants


def plan_audio(info):
    """Audio renditions. MPEG-TS files get one per track when there is a choice to make
    (a single track stays muxed into the variants' segments, which every player handles).
    fMP4 files always get them: an AAC group, and the tracks untouched when one of them
    is in another codec that fMP4 carries."""
    tracks = info.audio
    default = default_audio(info)
    if container(info) == "mpegts":
        if len(tracks) < 2:
            return []
        return [AudioRendition(f"audio_{n}", t.index, _track_label(t.title, t.language, n),
                               language_tag(t.language), t is default, t.channels or 2) for n, t in enumerate(tracks)]
    renditions = []
    for n, track in enumerate(tracks):
        channels = track.channels or 2
        if aac_copied(track):
            channels, codec, bitrate = channels, track.codec_string, track.bit_rate or AUDIO_BITRATE
        else:  # encoded, to stereo at most
            channels, codec, bitrate = min(2, channels), "mp4a.40.2", AUDIO_BITRATE
        renditions.append(AudioRendition(
            f"audio_{n}", track.index, _track_label(track.title, track.language, n), language_tag(track.language),
            track is default, channels, codec=codec, bitrate=bitrate, group="aac", container="mp4"))
    if any(t.codec != "aac" for t in tracks) and all(t.codec in COPYABLE_AUDIO for t in tracks):
        for n, track in enumerate(tracks):
            renditions.append(AudioRendition(
                f"audio_{n}_{track.codec}", track.index, _track_label(track.title, track.language, n),
                language_tag(track.language), track is default, track.channels or 2, codec=track.codec_string,
                bitrate=track.bit_rate or AUDIO_BITRATE, group="original", container="mp4", original=True))
    return renditions


def muxed_audio(info):
    """The audio stream carried inside variant segments, or None."""
    track = default_audio(info)
    return track.index if track and len(info.audio) == 1 and container(info) == "mpegts" else None


def plan_subtitles(info):
    renditions = []
    for sidecar in info.sidecars:
        label = _track_label(None, sidecar.language, len(renditions))
        renditions.append(SubtitleRendition(f"subtitles_{len(renditions)}", label, language_tag(sidecar.language),
                                            sidecar.forced, sidecar=sidecar.file, encoding=sidecar.encoding))
    for stream in info.subtitles:
        if stream.text:
            label = _track_label(stream.title, stream.language, len(renditions))
            renditions.append(SubtitleRendition(f"subtitles_{len(renditions)}", label, language_tag(stream.language),
                                                False, stream_index=stream.index))
    return renditions


LANGUAGE_NAMES = {
    "en": "English", "eng": "English", "fr": "Français", "fra": "Français", "fre": "Français",
    "de": "Deutsch", "deu": "Deutsch", "ger": "Deutsch", "es": "Español", "spa": "Español",
    "it": "Italiano", "ita": "Italiano", "pt": "Português", "por": "Português", "nl": "Nederlands",
    "nld": "Nederlands", "dut": "Nederlands", "ja": "日本語", "jpn": "日本語", "zh": "中文", "zho": "中文",
    "chi": "中文", "ko": "한국어", "kor": "한국어", "ru": "Русский", "rus": "Русский", "sv": "Svenska",
    "swe": "Svenska", "da": "Dansk", "dan": "Dansk", "no": "Norsk", "nor": "Norsk", "fi": "Suomi",
    "fin": "Suomi", "pl": "Polski", "pol": "Polski", "ar": "العربية", "ara": "العربية", "hi": "हिन्दी", "hin": "हिन्दी",
}


def language_tag(code):
    """HLS wants RFC 5646 tags, which use the two-letter code where one exists: a player
    matching "fr" must find the track a Matroska file calls "fre" or "fra"."""
    if not code:
        return "und"
    code = code.lower()
    for convert in (lambda c: babelfish.Language.fromcode(c, "alpha2"),
                    lambda c: babelfish.Language.fromcode(c, "alpha3b"), babelfish.Language):
        try:
            return convert(code).alpha2
        except (ValueError, KeyError, babelfish.Error):
            continue
    return code


def _track_label(title, language, number):
    """What a player's menu shows: the track's title, else its language's own name."""
    if title:
        return title
    language = (language or "").lower()
    if language:
        return LANGUAGE_NAMES.get(language, language.upper())
    return f"Track {number + 1}"


def scaled_size(width, height, short_side):
    """Even width and height whose short side is ``short_side``, keeping the aspect
    ratio (638x358 works; 1080x1920 at 720 is 720x1280)."""
    if height > width:
        h, w = scaled_size(height, width, short_side)
        return w, h
    if short_side >= height:
        return width - width % 2, height - height % 2
    w = int(round(width * short_side / height / 2)) * 2
    return max(2, w), short_side - short_side % 2


def _display_size(video):
    """The size the picture is meant to be seen at: anamorphic pixels made square
    (DVD's 720x576 at 16:9 shows as 1024x576), then turned upright."""
    num, den = video.sample_aspect_ratio
    width, height = int(round(video.width * num / den)), video.height
    width -= width % 2
    return (height, width) if video.rotation % 180 else (width, height)


def _source_bitrate(info, with_audio=True):
    video = info.video.bit_rate or 0
    audio = sum(a.bit_rate or AUDIO_BITRATE for a in info.audio[:1])
    if not video and info.bit_rate:
        return int(info.bit_rate) - (0 if with_audio else min(audio, int(info.bit_rate) // 2))
    return int(video + (audio if with_audio else 0)) or 5_000_000


def _h264_bitrate(width, height, fps):
    """About 0.1 bit per pixel at 30 fps, less per frame at higher rates (CRF 23 at veryfast)."""
    return int(width * height * 0.1 * (30 * (fps / 30) ** 0.75))


def h264_level(width, height, fps):
    """The lowest H.264 level whose macroblock limits fit, as level_idc (31 = 3.1)."""
    macroblocks = math.ceil(width / 16) * math.ceil(height / 16)
    for level, frame_limit, rate_limit in ((30, 1620, 40500), (31, 3600, 108000), (32, 5120, 216000),
                                           (40, 8192, 245760), (42, 8704, 522240), (50, 22080, 589824),
                                           (51, 36864, 983040)):
        if macroblocks <= frame_limit and macroblocks * fps <= rate_limit:
            return level
    return 52


def _avc_codec(video):
    profile = video.profile_id or 100
    constraints = 0x40 if video.profile == "Constrained Baseline" else 0
    level = video.level or h264_level(video.width, video.height, video.fps or 25)
    return f"avc1.{profile:02x}{constraints:02x}{level:02x}"


def _audio_codec(info):
    track = default_audio(info)
    if track is None:
        return None
    if aac_copied(track):
        return {"HE-AAC": "mp4a.40.5", "HE-AACv2": "mp4a.40.29"}.get(track.profile, "mp4a.40.2")
    return "mp4a.40.2"  # everything else is encoded to AAC-LC


LONGEST_COPIED_AUDIO_FRAME = fractions.Fraction(1, 20)  # seconds


def aac_copied(track):
    """Is this audio track AAC that segments carry as it is?

    Not when its frames are long. A segment's sound starts on a frame of it, so up to a
    frame after its picture; at a low rate that is too late (1024 samples at 11 kHz last
    93 ms, at 8 kHz 128 ms), and such a track is encoded at 44.1 or 48 kHz instead."""
    if track.codec != "aac":
        return False
    samples = 2048 if track.profile in ("HE-AAC", "HE-AACv2") else 1024  # SBR doubles the frame
    return not track.sample_rate or fractions.Fraction(samples, track.sample_rate) <= LONGEST_COPIED_AUDIO_FRAME


def join_codecs(*codecs):
    """A CODECS attribute's value: the codecs given, absent ones left out."""
    return ",".join(c for c in codecs if c)
