"""Subtitle cues in the forms Jellyfin clients take besides WebVTT: SubRip text
(``Stream.srt``, for players whose SubtitleProfiles list srt and not vtt) and the JSON track
events jellyfin-web renders itself (``Stream.js``). Pure: from the WebVTT that Haema makes of
every text subtitle (subtitles.py)."""
import dataclasses
import re

from . import items


@dataclasses.dataclass(frozen=True)
class Cue:
    start: float  # seconds
    end: float
    lines: tuple  # of text, WebVTT's inline tags kept (<i>, <b>: SubRip has them too)


def of_webvtt(text):
    """The cues of a WebVTT file, in order; a cue whose times do not read is left out."""
    cues = []
    for block in re.split(r"\n\s*\n", text.replace("\r\n", "\n")):
        lines = block.strip().split("\n")
        for n, line in enumerate(lines):
            if "-->" in line:
                start, end = (part.strip().split(" ")[0] for part in line.split("-->", 1))
                try:
                    cues.append(Cue(_seconds(start), _seconds(end), tuple(lines[n + 1:])))
                except ValueError:
                    pass
                break
    return cues


def as_srt(cues):
    return "".join(f"{n}\n{_clock(cue.start)} --> {_clock(cue.end)}\n" + "\n".join(cue.lines) + "\n\n"
                   for n, cue in enumerate(cues, 1))


def track_events(cues):
    """Jellyfin's SubtitleTrackInfo: lines joined with ``\\N``, times in ticks."""
    return {"TrackEvents": [{"Id": str(n), "StartPositionTicks": items.ticks(cue.start),
                             "EndPositionTicks": items.ticks(cue.end), "Text": "\\N".join(cue.lines)}
                            for n, cue in enumerate(cues, 1)]}


def _seconds(clock):
    parts = [float(p) for p in clock.split(":")]
    if not 2 <= len(parts) <= 3:
        raise ValueError(clock)
    return sum(p * 60 ** n for n, p in enumerate(reversed(parts)))


def _clock(seconds):
    millis = int(round(seconds * 1000))
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    return f"{hours:02d}:{minutes:02d}:{rest // 1000:02d},{rest % 1000:03d}"
