"""Text subtitles as WebVTT for HLS: sidecar files beside the video (SubRip, WebVTT,
ASS/SSA, MicroDVD) and text streams inside the video (SubRip, ASS/SSA, WebVTT, MP4
timed text).

A subtitle rendition is one WebVTT file for the whole video. Its ``X-TIMESTAMP-MAP``
ties cue time zero (the start of the source file) to the MPEG-TS timestamp the
segments give that instant, so cues stay in place after any seek.

Sidecars found in the wild are mostly not UTF-8: Cyrillic ones are Windows-1251 or
KOI8-R, Chinese ones GBK, Japanese ones Shift-JIS, and no byte says which. A BOM or
valid UTF-8 settles it; otherwise charset-normalizer decides, told the legacy code
pages of the language the file name gives (``Film.ru.srt``). The hint matters: the
detector alone reads Shift-JIS Japanese as Korean cp949, even a 170 KiB file, while
among Japanese code pages it picks right (and tells KOI8-R from cp1251 among Cyrillic). Parsing and ASS styling are pysubs2's;
the cue text is written here so that it is escaped for WebVTT.

A sidecar is read once at scan time (``read_sidecar``): one that cannot be decoded
or parsed is not offered, and the encoding found is kept so that the request reads
the file the same way.
"""
import codecs
import dataclasses
import html
import logging

import charset_normalizer
import pysubs2
from pysubs2.formats.substation import parse_tags

from .errors import HaemaError
from .hls import language_tag
from .lazy import lazy_import
from .made import Destination, make_file

av = lazy_import("av")

log = logging.getLogger(__name__)

SIDECAR_EXTENSIONS = {".srt", ".vtt", ".ass", ".ssa", ".sub"}  # .sub: MicroDVD (VobSub's has an .idx)

BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))

_CYRILLIC = ("cp1251", "koi8_r", "koi8_u", "iso8859_5", "cp866", "mac_cyrillic")
_CENTRAL_EUROPEAN = ("cp1250", "iso8859_2")
_WESTERN = ("cp1252", "iso8859_15")
LEGACY_ENCODINGS = {
    # two-letter language → the code pages its subtitle files were saved in before UTF-8
    **dict.fromkeys(("ru", "uk", "be", "bg", "sr", "mk"), _CYRILLIC),
    **dict.fromkeys(("cs", "sk", "pl", "hu", "sl", "hr", "bs", "ro", "sq"), _CENTRAL_EUROPEAN),
    **dict.fromkeys(("en", "fr", "de", "es", "it", "pt", "nl", "sv", "da", "no", "nb", "nn", "fi", "is",
                     "ca", "eu", "gl", "ga", "af", "id", "ms"), _WESTERN),
    "el": ("cp1253", "iso8859_7"),
    **dict.fromkeys(("ar", "fa", "ur"), ("cp1256", "iso8859_6")),
    **dict.fromkeys(("he", "yi"), ("cp1255", "iso8859_8")),
    **dict.fromkeys(("tr", "az"), ("cp1254", "iso8859_9")),
    **dict.fromkeys(("et", "lt", "lv"), ("cp1257", "iso8859_13", "iso8859_4")),
    "vi": ("cp1258",),
    "th": ("cp874",),
    "zh": ("gb18030", "big5hkscs"),
    "ja": ("cp932", "euc_jis_2004", "iso2022_jp"),
    "ko": ("cp949", "euc_kr"),
}
WEBVTT_TAGS = (("italic", "i"), ("bold", "b"), ("underline", "u"))


class SubtitleError(HaemaError):
    """A subtitle file that cannot be decoded or parsed; the message says which step failed."""

    def __init__(self, message):
        super().__init__(message, 422)


@dataclasses.dataclass(frozen=True)
class SidecarFile:
    """Where a sidecar's cues come from, as the scan and a request both read it."""
    path: str
    language: str = None  # from the file name: narrows the encoding detection
    encoding: str = None  # found at scan time; None: detect
    fps: float = None  # of the video: MicroDVD counts frames, and few files say at which rate


@dataclasses.dataclass(frozen=True)
class EmbeddedTrack:
    path: str
    stream_index: int


@dataclasses.dataclass(frozen=True)
class Sidecar:
    subs: pysubs2.SSAFile
    encoding: str  # a Python codec name, kept in the index so a request decodes the same way


@dataclasses.dataclass(frozen=True)
class Cue:
    start: float  # seconds from the start of the source file
    end: float
    text: str  # WebVTT cue text: escaped, with <i>/<b>/<u> and line breaks


# ---------------------------------------------------------------------------
# WebVTT


@dataclasses.dataclass(frozen=True, kw_only=True)
class WebVTTJob:
    """A subtitle rendition's whole WebVTT file, made in a worker (an embedded track
    means reading the whole video file)."""

    key: str
    destination: Destination
    source: SidecarFile | EmbeddedTrack
    mpegts_zero: int

    @property
    def quick(self):
        """A sidecar is a small text file (pool.py's quick lane); an embedded track is a
        read of the whole video."""
        return isinstance(self.source, SidecarFile)

    def run(self, state, cancelled=None):
        text = webvtt(self.source, self.mpegts_zero)
        return make_file(self.destination, ".vtt", lambda target: _write_text(target, text))


def _write_text(path, text):
    with open(path, "w", encoding="utf-8") as out:
        out.write(text)


def webvtt(source, mpegts_zero):
    """WebVTT text of a ``SidecarFile`` or an ``EmbeddedTrack``."""
    if isinstance(source, SidecarFile):
        try:
            cues = _sidecar_cues(read_sidecar(source))
        except SubtitleError as error:
            log.warning("cannot serve subtitles %s: %s", source.path, error.message)
            raise
    else:
        cues = _embedded_cues(source.path, source.stream_index)
    lines = ["WEBVTT", f"X-TIMESTAMP-MAP=MPEGTS:{mpegts_zero},LOCAL:00:00:00.000", ""]
    for cue in cues:
        lines += [f"{_clock(cue.start)} --> {_clock(cue.end)}", cue.text, ""]
    return "\n".join(lines)


def _sidecar_cues(sidecar):
    """Cues in order of start; overlapping cues stay as they are (WebVTT shows them together)."""
    subs = sidecar.subs
    unescape = subs.format == "vtt"  # pysubs2 keeps WebVTT's &amp; as it is; it is escaped again below
    cues = []
    for event in sorted(subs.get_text_events(), key=lambda e: e.start):
        text = _cue_text(event.text, subs.styles.get(event.style, pysubs2.SSAStyle.DEFAULT_STYLE), subs.styles,
                         unescape)
        if text:
            cues.append(Cue(event.start / 1000, event.end / 1000, text))
    return cues


def _cue_text(text, style, styles, unescape=False):
    """ASS event text → WebVTT: override tags and drawings dropped, italics/bold/underline
    (from the style or inline) as tags, ``\\N`` as line breaks, everything else escaped."""
    text = text.replace(r"\h", "\u00a0").replace(r"\N", "\n").replace(r"\n", "\n")
    lines = [[]]
    for fragment, fragment_style in parse_tags(text, style, styles):
        if fragment_style.drawing:  # vector shapes (\p1), not text
            continue
        for number, piece in enumerate(fragment.split("\n")):
            if number:
                lines.append([])
            piece = html.escape(html.unescape(piece) if unescape else piece, quote=False)
            for attribute, tag in WEBVTT_TAGS:  # tags close on each line, so lines can be dropped
                if getattr(fragment_style, attribute) and piece.strip():
                    piece = f"<{tag}>{piece}</{tag}>"
            lines[-1].append(piece)
    # a blank line would end the cue early
    return "\n".join(line for line in ("".join(pieces).strip() for pieces in lines) if line)


# ---------------------------------------------------------------------------
# Sidecar files


def read_sidecar(sidecar):
    """The events of a ``SidecarFile`` and the encoding they were read in; raises
    SubtitleError if it cannot be decoded or parsed."""
    try:
        with open(sidecar.path, "rb") as source:
            raw = source.read()
    except OSError as error:
        raise SubtitleError(f"cannot read the file: {error.strerror}") from None
    encoding = sidecar.encoding or detect_encoding(raw, sidecar.language)
    try:
        text = raw.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        raise SubtitleError(f"the file is not {encoding} text (changed since the scan?)") from None
    return Sidecar(_parse(text, sidecar.fps), encoding)


def detect_encoding(raw, language=None):
    """A BOM, else UTF-8 if the bytes are valid UTF-8, else charset-normalizer's best
    guess among the code pages of ``language``, else among all it knows."""
    for bom, encoding in BOMS:
        if raw.startswith(bom):
            return encoding
    try:
        raw.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    candidates = LEGACY_ENCODINGS.get(language_tag(language))
    match = charset_normalizer.from_bytes(raw, cp_isolation=list(candidates)).best() if candidates else None
    if match is None:
        match = charset_normalizer.from_bytes(raw).best()
    if match is None:
        raise SubtitleError("the text encoding cannot be told; not a text file?")
    return match.encoding


def _parse(text, fps=None):
    """pysubs2's parse of any format it recognises. A MicroDVD file's own rate
    (``{1}{1}23.976``) goes before the video's: given a rate, pysubs2 would show that
    line as a cue."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")  # pysubs2 splits lines on \n only
    try:
        try:
            subs = pysubs2.SSAFile.from_string(text)
        except pysubs2.UnknownFPSError:
            if not fps:
                raise
            subs = pysubs2.SSAFile.from_string(text, fps=fps)
    except (pysubs2.Pysubs2Error, ValueError) as error:
        raise SubtitleError(f"not a subtitle format pysubs2 reads ({type(error).__name__})") from None
    if not subs.get_text_events():
        raise SubtitleError(f"no cues in the {subs.format} file")
    return subs


# ---------------------------------------------------------------------------
# Streams inside the video


def _embedded_cues(path, stream_index):
    cues = []
    with av.open(path) as container:
        stream = container.streams[stream_index]
        codec = stream.codec_context.name
        styles = _ass_styles(stream.codec_context.extradata) if codec in ("ass", "ssa") else {}
        for packet in container.demux(stream):
            if packet.pts is None or not packet.size:
                continue
            start = float(packet.pts * packet.time_base)
            end = start + float((packet.duration or 0) * packet.time_base or 3)
            text = _packet_text(bytes(packet), codec, styles)
            if text:
                cues.append(Cue(start, end, text))
    return cues


def _packet_text(data, codec, styles):
    if codec == "mov_text":
        data = data[2:2 + int.from_bytes(data[:2], "big")]
    text = data.decode("utf-8", errors="replace")
    if codec in ("ass", "ssa"):  # ReadOrder,Layer,Style,Name,MarginL,MarginR,MarginV,Effect,Text
        fields = text.split(",", 8)
        if len(fields) < 9:
            return ""
        style = styles.get(fields[2], pysubs2.SSAStyle.DEFAULT_STYLE)
        return _cue_text(fields[8], style, styles)
    return text.strip()


def _ass_styles(extradata):
    """The styles of an embedded ASS track: its header (``[V4+ Styles]``) is the
    codec's extradata, so an italic style makes italic cues as in a sidecar."""
    if not extradata:
        return {}
    try:
        return dict(pysubs2.SSAFile.from_string(extradata.decode("utf-8", errors="replace"), format_="ass").styles)
    except (pysubs2.Pysubs2Error, ValueError):
        return {}


def _clock(seconds):
    millis = int(round(max(0.0, seconds) * 1000))
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    return f"{hours:02d}:{minutes:02d}:{millis // 1000:02d}.{millis % 1000:03d}"
