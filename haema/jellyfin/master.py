"""Haema's master playlist as a Jellyfin client asked for it. Pure text in, text out.

- Another audio track as the default, for a client that switched tracks (a new PlaybackInfo
  with ``AudioStreamIndex``): hls.js, as a browser's own player, starts on the DEFAULT
  rendition, and jellyfin-web switches tracks only by loading a new URL.
- Only the variants under the client's ``MaxStreamingBitrate``: a player's own bandwidth
  estimate knows nothing of the limit its user set (a phone's data plan, a slow uplink)."""
import re

AUDIO_NAME = re.compile(r'^#EXT-X-MEDIA:TYPE=AUDIO,.*URI="audio_(\d+)[^"/]*/')
URI_ATTRIBUTE = re.compile(r'URI="([^"]*)"')


def with_default_audio(text, position, base):
    """``text`` (a master playlist) with the renditions of audio track ``position`` as
    DEFAULT and the others not, and its relative URIs made absolute under ``base``
    (it is served from another path than Haema's own)."""
    lines = []
    for line in text.split("\n"):
        match = AUDIO_NAME.match(line)
        if match:
            chosen = "YES" if int(match.group(1)) == position else "NO"
            line = re.sub(r"DEFAULT=(YES|NO)", f"DEFAULT={chosen}", line)
        if line.startswith("#"):
            line = URI_ATTRIBUTE.sub(lambda m: f'URI="{base}{m.group(1)}"', line)
        elif line:
            line = base + line
        lines.append(line)
    return "\n".join(lines)


STREAM_INF = "#EXT-X-STREAM-INF:"
BANDWIDTH = re.compile(r"(?:^|,)BANDWIDTH=(\d+)")
AVERAGE = re.compile(r"(?:^|,)AVERAGE-BANDWIDTH=(\d+)")


def _rate(line):
    """A variant's average rate, as Jellyfin compares a file's with the limit (its peak if no average)."""
    attributes = line[len(STREAM_INF):]
    found = AVERAGE.search(attributes) or BANDWIDTH.search(attributes)
    return int(found.group(1)) if found else 0


def within_bitrate(text, limit):
    """``text`` without the variants whose rate is over ``limit`` (bits a second); the lowest
    variant stays whatever its rate, so there is always one to play."""
    lines = text.split("\n")
    rates = [_rate(line) for line in lines if line.startswith(STREAM_INF)]
    if not rates:
        return text
    keep_up_to = max([rate for rate in rates if rate <= limit] or [min(rates)])
    kept, skip_uri = [], False
    for line in lines:
        if line.startswith(STREAM_INF):
            skip_uri = _rate(line) > keep_up_to
            if skip_uri:
                continue
        elif skip_uri and line and not line.startswith("#"):
            skip_uri = False
            continue
        kept.append(line)
    return "\n".join(kept)
