"""Haema's master playlist with another audio track as the default, for a Jellyfin client
that switched tracks (a new PlaybackInfo with ``AudioStreamIndex``): hls.js, as a browser's
own player, starts on the DEFAULT rendition, and jellyfin-web switches tracks only by
loading a new URL. Pure text in, text out."""
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
