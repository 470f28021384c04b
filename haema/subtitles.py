"""Text subtitles as WebVTT for HLS: sidecar ``.srt``/``.vtt`` files and text streams
inside the video (SubRip, ASS/SSA, WebVTT, MP4 timed text).

A subtitle rendition is one WebVTT file for the whole video. Its ``X-TIMESTAMP-MAP``
ties cue time zero (the start of the source file) to the MPEG-TS timestamp the
segments give that instant, so cues stay in place after any seek.
"""
import dataclasses
import html
import re

import av

from .made import Destination, make_file

TIMESTAMP = re.compile(r"(\d+):(\d{2}):(\d{2})[,.](\d{1,3})")
ASS_OVERRIDE = re.compile(r"\{[^}]*\}")


@dataclasses.dataclass(frozen=True, kw_only=True)
class WebVTTJob:
    """A subtitle rendition's whole WebVTT file, made in a worker (an embedded track
    means reading the whole video file)."""

    key: str
    destination: Destination
    path: str
    stream_index: int | None  # None: ``path`` is a sidecar file
    mpegts_zero: int

    def run(self, state, cancelled=None):
        text = webvtt(self.path, self.stream_index, self.mpegts_zero)
        return make_file(self.destination, ".vtt", lambda target: _write_text(target, text))


def _write_text(path, text):
    with open(path, "w", encoding="utf-8") as out:
        out.write(text)


def webvtt(path, stream_index, mpegts_zero):
    """WebVTT text of a sidecar file (``stream_index`` None) or of an embedded stream."""
    cues = _sidecar_cues(path) if stream_index is None else _embedded_cues(path, stream_index)
    lines = ["WEBVTT", f"X-TIMESTAMP-MAP=MPEGTS:{mpegts_zero},LOCAL:00:00:00.000", ""]
    for start, end, text in cues:
        lines += [f"{_clock(start)} --> {_clock(end)}", text, ""]
    return "\n".join(lines)


def _sidecar_cues(path):
    with open(path, "rb") as source:
        raw = source.read()
    text = raw.decode("utf-8-sig") if _is_utf8(raw) else raw.decode("cp1252", errors="replace")
    cues = []
    for block in re.split(r"\r?\n\s*\r?\n", text.replace("\r\n", "\n")):
        lines = [line for line in block.strip().split("\n") if line.strip()]
        timing = next((i for i, line in enumerate(lines) if "-->" in line), None)
        if timing is None:
            continue
        times = TIMESTAMP.findall(lines[timing])
        if len(times) != 2:
            continue
        cues.append((_seconds(times[0]), _seconds(times[1]), "\n".join(lines[timing + 1:])))
    return cues


def _embedded_cues(path, stream_index):
    cues = []
    with av.open(path) as container:
        stream = container.streams[stream_index]
        codec = stream.codec_context.name
        for packet in container.demux(stream):
            if packet.pts is None or not packet.size:
                continue
            start = float(packet.pts * packet.time_base)
            end = start + float((packet.duration or 0) * packet.time_base or 3)
            text = _packet_text(bytes(packet), codec)
            if text:
                cues.append((start, end, text))
    return cues


def _packet_text(data, codec):
    if codec == "mov_text":
        data = data[2:2 + int.from_bytes(data[:2], "big")]
    text = data.decode("utf-8", errors="replace")
    if codec in ("ass", "ssa"):  # ReadOrder,Layer,Style,Name,MarginL,MarginR,MarginV,Effect,Text
        text = ASS_OVERRIDE.sub("", text.split(",", 8)[-1]).replace("\\N", "\n").replace("\\n", "\n")
        text = html.escape(text, quote=False)
    return text.strip()


def _is_utf8(raw):
    try:
        raw.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


def _seconds(parts):
    hours, minutes, seconds, millis = parts
    return int(hours) * 3600 + int(minutes) * 60 + int(seconds) + int(millis.ljust(3, "0")) / 1000


def _clock(seconds):
    millis = int(round(max(0.0, seconds) * 1000))
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    return f"{hours:02d}:{minutes:02d}:{millis // 1000:02d}.{millis % 1000:03d}"
