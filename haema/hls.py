"""The HLS plan as data: keyframes in, segment boundaries, variants and playlist text out.

Nothing here opens a file. The media playlist is "fake": it is computed from the
source's keyframe times before any segment exists, and each segment is later made on
its own from its boundaries (transcode.py). Every time is an integer in the source
video's time base, so a boundary means exactly the same frame everywhere.

Two grids share one timeline:
- copy boundaries are keyframes, merged until a segment reaches the target length
  (a 10 s GOP gives 10 s copy segments);
- the fine grid, for transcoded variants, has a shorter target: inside every copy
  segment, keyframes are merged up to it and what is still longer is cut into equal
  pieces. Every copy boundary is also a fine boundary, and neither a long GOP nor a
  long copy segment means a long wait for a transcoded segment.
"""
import bisect
import dataclasses
import fractions
import math

import babelfish

from .probe import default_audio, is_copyable

# Output timestamps are the source's, shifted so the first keyframe sits here (seconds).
# The margin keeps encoder-delayed DTS and audio that starts before the video positive.
OUTPUT_ORIGIN = 10

LADDER = (1080, 720, 480, 360)
AUDIO_BITRATE = 128_000


@dataclasses.dataclass(frozen=True)
class Timeline:
    time_base: fractions.Fraction
    keyframes: tuple
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
    decode_from: int  # the keyframe at or before ``start``


@dataclasses.dataclass(frozen=True)
class Variant:
    name: str  # "original" or e.g. "720p_h264"
    copy: bool
    width: int
    height: int
    bandwidth: int  # peak bits per second
    average_bandwidth: int
    codecs: str
    frame_rate: float


@dataclasses.dataclass(frozen=True)
class AudioRendition:
    """One audio track of a file with several, as its own HLS rendition (EXT-X-MEDIA).
    It is cut on the fine grid, so it aligns with every variant."""

    name: str  # "audio_1"
    stream_index: int
    label: str
    language: str
    default: bool
    channels: int
    copy = False  # cut on the fine grid


@dataclasses.dataclass(frozen=True)
class SubtitleRendition:
    name: str  # "subtitles_0"
    label: str
    language: str
    forced: bool
    sidecar: str = None  # relative path of a .srt/.vtt file, or
    stream_index: int = None  # a text stream inside the video


# ---------------------------------------------------------------------------
# Timeline


def plan_timeline(keyframes, target_seconds, fine_seconds=None, frame_duration=None):
    """Boundaries for ``keyframes`` (``probe.read_keyframes`` output).

    ``fine_seconds`` (default: ``target_seconds``) is the longest transcoded segment:
    shorter than the copy target, because a transcoded segment costs encoding time before
    the player can start, while a copied one costs next to nothing.
    ``frame_duration`` (time-base units) snaps fine boundaries to whole frames of a
    constant-rate source, so a transcoded segment holds whole frames of equal count.
    """
    tb = fractions.Fraction(*keyframes["time_base"])
    pts = tuple(sorted(set(keyframes["pts"])))
    end = max(keyframes["end"], pts[-1] + 1)
    copy = _merge_keyframes(pts, pts[0], end, target_seconds / tb)
    fine_target = (fine_seconds or target_seconds) / tb
    fine = [copy[0]]
    for start, stop in zip(copy, copy[1:]):
        inside = pts[bisect.bisect_left(pts, start):bisect.bisect_left(pts, stop)]
        cuts = _merge_keyframes(inside, start, stop, fine_target)
        for begin, finish in zip(cuts, cuts[1:]):
            fine += _equal_pieces(begin, finish, fine_target, frame_duration)
    return Timeline(tb, pts, copy, tuple(fine))


def _merge_keyframes(keyframes, start, stop, target):
    """Keyframes from ``start`` on, merged until a segment reaches ``target``, then ``stop``."""
    cuts = [start]
    for keyframe in keyframes:
        if keyframe - cuts[-1] >= target:
            cuts.append(keyframe)
    if len(cuts) > 1 and stop - cuts[-1] < target / 4:
        cuts.pop()  # fold a sliver of a last segment into the one before
    return (*cuts, stop)


def _equal_pieces(start, stop, target, frame_duration):
    """Boundaries after ``start`` up to ``stop``: equal pieces no longer than ``target``.

    A piece starting between keyframes costs a cold request the decoding from the
    keyframe before it (reference frames only), which is far cheaper than encoding."""
    pieces = max(1, math.ceil((stop - start) / target - 1e-9))
    cuts = []
    for k in range(1, pieces):
        cut = start + (stop - start) * k / pieces
        if frame_duration:
            cut = start + round((cut - start) / frame_duration) * frame_duration
        cut = int(round(cut))
        if (cuts[-1] if cuts else start) < cut < stop:
            cuts.append(cut)
    return cuts + [stop]


def boundaries(timeline, variant):
    return timeline.copy if variant.copy else timeline.fine


def segment(timeline, variant, index):
    """The ``index``-th segment of ``variant``; ``IndexError`` if there is none."""
    bounds = boundaries(timeline, variant)
    if not 0 <= index < len(bounds) - 1:
        raise IndexError(index)
    start = bounds[index]
    keyframe_index = max(0, bisect.bisect_right(timeline.keyframes, start) - 1)
    return Segment(index=index, start=start, end=bounds[index + 1], first=index == 0,
                   last=index == len(bounds) - 2, decode_from=timeline.keyframes[keyframe_index])


# ---------------------------------------------------------------------------
# Variants


def plan_variants(info, max_height=1080):
    """``original`` first when the source can be copied, then a ladder of H.264 sizes.

    No rung is above the source. A source that cannot be copied always gets a rung at
    its own size (capped by ``max_height``), so it plays at full quality.
    """
    video = info["video"]
    width, height = _display_size(video)
    fps = video["fps"] or 25.0
    variants = []
    if is_copyable(info):
        bitrate = _source_bitrate(info)
        variants.append(Variant("original", True, width, height, int(bitrate * 1.5), bitrate,
                                _join(_avc_codec(video), _audio_codec(info)), fps))
    heights = [h for h in LADDER if h < height and h <= max_height]
    if not variants and min(height, max_height) not in heights:
        heights.insert(0, min(height, max_height))
    for rung in heights:
        w, h = scaled_size(width, height, rung)
        average = _h264_bitrate(w, h, fps) + (AUDIO_BITRATE if info["audio"] else 0)
        variants.append(Variant(f"{h}p_h264", False, w, h, int(average * 1.6), average,
                                _join(f"avc1.6400{h264_level(w, h, fps):02x}", "mp4a.40.2" if info["audio"] else None),
                                fps))
    return variants


def plan_audio(info):
    """Audio renditions, one per track, when there is a choice to make. A single track
    stays muxed into the variants' segments, which every player handles."""
    tracks = info["audio"]
    if len(tracks) < 2:
        return []
    default = default_audio(info)
    return [AudioRendition(f"audio_{n}", t["index"], _track_label(t, n), language_tag(t["language"]),
                           t is default, t["channels"] or 2) for n, t in enumerate(tracks)]


def muxed_audio(info):
    """The audio stream carried inside variant segments, or None."""
    track = default_audio(info)
    return track["index"] if track and len(info["audio"]) == 1 else None


def plan_subtitles(info):
    renditions = []
    for sidecar in info.get("sidecars", []):
        renditions.append(SubtitleRendition(f"subtitles_{len(renditions)}", _track_label(sidecar, len(renditions)),
                                            language_tag(sidecar["language"]), sidecar["forced"],
                                            sidecar=sidecar["file"]))
    for stream in info["subtitles"]:
        if stream["text"]:
            renditions.append(SubtitleRendition(f"subtitles_{len(renditions)}", _track_label(stream, len(renditions)),
                                                language_tag(stream["language"]), False,
                                                stream_index=stream["index"]))
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


def _track_label(track, number):
    """What a player's menu shows: the track's title, else its language's own name."""
    if track.get("title"):
        return track["title"]
    language = (track.get("language") or "").lower()
    if language:
        return LANGUAGE_NAMES.get(language, language.upper())
    return f"Track {number + 1}"


def scaled_size(width, height, target_height):
    """Even width and height of ``target_height`` keeping the aspect ratio (638x358 works)."""
    if target_height >= height:
        return width - width % 2, height - height % 2
    w = int(round(width * target_height / height / 2)) * 2
    return max(2, w), target_height - target_height % 2


def _display_size(video):
    """The size the picture is meant to be seen at: anamorphic pixels made square
    (DVD's 720x576 at 16:9 shows as 1024x576), then turned upright."""
    num, den = video.get("sample_aspect_ratio", [1, 1])
    width, height = int(round(video["width"] * num / den)), video["height"]
    width -= width % 2
    return (height, width) if video["rotation"] % 180 else (width, height)


def _source_bitrate(info):
    video = info["video"]["bit_rate"] or 0
    if not video and info["bit_rate"]:
        return int(info["bit_rate"])
    audio = sum(a["bit_rate"] or AUDIO_BITRATE for a in info["audio"][:1])
    return int(video + audio) or 5_000_000


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
    profile = video["profile_id"] or 100
    constraints = 0x40 if video["profile"] == "Constrained Baseline" else 0
    level = video["level"] or h264_level(video["width"], video["height"], video["fps"] or 25)
    return f"avc1.{profile:02x}{constraints:02x}{level:02x}"


def _audio_codec(info):
    track = default_audio(info)
    if track is None:
        return None
    if track["codec"] == "aac":
        return {"HE-AAC": "mp4a.40.5", "HE-AACv2": "mp4a.40.29"}.get(track["profile"], "mp4a.40.2")
    return "mp4a.40.2"  # everything else is encoded to AAC-LC


def _join(*codecs):
    return ",".join(c for c in codecs if c)


# ---------------------------------------------------------------------------
# Playlist text


def media_playlist(timeline, variant):
    bounds = boundaries(timeline, variant)
    durations = [float((b - a) * timeline.time_base) for a, b in zip(bounds, bounds[1:])]
    lines = [
        "#EXTM3U",
        "#EXT-X-VERSION:3",
        f"#EXT-X-TARGETDURATION:{max(1, math.ceil(max(durations) - 1e-6))}",
        "#EXT-X-MEDIA-SEQUENCE:0",
        "#EXT-X-PLAYLIST-TYPE:VOD",
        "#EXT-X-INDEPENDENT-SEGMENTS",
    ]
    for index, duration in enumerate(durations):
        lines += [f"#EXTINF:{duration:.6f},", f"{index}.ts"]
    lines.append("#EXT-X-ENDLIST")
    return "\n".join(lines) + "\n"


def subtitle_playlist(timeline):
    """One WebVTT file for the whole video: cues are small, and timing stays exact."""
    total = float((timeline.copy[-1] - timeline.copy[0]) * timeline.time_base)
    return "\n".join([
        "#EXTM3U", "#EXT-X-VERSION:3", f"#EXT-X-TARGETDURATION:{max(1, math.ceil(total))}",
        "#EXT-X-MEDIA-SEQUENCE:0", "#EXT-X-PLAYLIST-TYPE:VOD", f"#EXTINF:{total:.6f},", "0.vtt", "#EXT-X-ENDLIST",
    ]) + "\n"


def master_playlist(variants, audio=(), subtitles=()):
    lines = ["#EXTM3U", "#EXT-X-VERSION:4", "#EXT-X-INDEPENDENT-SEGMENTS"]
    for track in audio:
        lines.append(
            f'#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio",NAME="{_quoted(track.label)}",LANGUAGE="{track.language}",'
            f'DEFAULT={_yes(track.default)},AUTOSELECT=YES,CHANNELS="{track.channels}",URI="{track.name}/stream.m3u8"')
    for track in subtitles:
        lines.append(
            f'#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",NAME="{_quoted(track.label)}",LANGUAGE="{track.language}",'
            f'DEFAULT=NO,AUTOSELECT={_yes(not track.forced)},FORCED={_yes(track.forced)},'
            f'URI="{track.name}/stream.m3u8"')
    groups = (',AUDIO="audio"' if audio else "") + (',SUBTITLES="subs"' if subtitles else "")
    for variant in variants:
        lines.append(
            f"#EXT-X-STREAM-INF:BANDWIDTH={variant.bandwidth},AVERAGE-BANDWIDTH={variant.average_bandwidth},"
            f"RESOLUTION={variant.width}x{variant.height},FRAME-RATE={variant.frame_rate:.3f},"
            f'CODECS="{variant.codecs}"{groups}'
        )
        lines.append(f"{variant.name}/stream.m3u8")
    return "\n".join(lines) + "\n"


def _yes(flag):
    return "YES" if flag else "NO"


def _quoted(text):
    return text.replace('"', "'")
