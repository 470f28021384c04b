"""The HLS plan (hls.py) as playlist text: the master, each rendition's media playlist,
and the trick-play lists.

Pure functions like the plan's: every playlist exists before any segment does, and
is tested on hand-made timelines and variants.
"""
import math

from . import hls


def segment_name(rendition, index):
    return f"{index}.m4s" if rendition.container == "mp4" else f"{index}.ts"


def media_playlist(timeline, rendition):
    bounds = hls.boundaries(timeline, rendition)
    durations = [float((b - a) * timeline.time_base) for a, b in zip(bounds, bounds[1:])]
    fragmented = rendition.container == "mp4"
    lines = [
        "#EXTM3U",
        "#EXT-X-VERSION:7" if fragmented else "#EXT-X-VERSION:3",  # 6+ for EXT-X-MAP
        f"#EXT-X-TARGETDURATION:{max(1, math.ceil(max(durations) - 1e-6))}",
        "#EXT-X-MEDIA-SEQUENCE:0",
        "#EXT-X-PLAYLIST-TYPE:VOD",
        "#EXT-X-INDEPENDENT-SEGMENTS",
    ]
    if fragmented:
        lines.append('#EXT-X-MAP:URI="init.mp4"')
    for index, duration in enumerate(durations):
        lines += [f"#EXTINF:{duration:.6f},", segment_name(rendition, index)]
    lines.append("#EXT-X-ENDLIST")
    return "\n".join(lines) + "\n"


def subtitle_playlist(timeline):
    """One WebVTT file for the whole video: cues are small, and timing stays exact."""
    total = float((timeline.copy[-1] - timeline.copy[0]) * timeline.time_base)
    return "\n".join([
        "#EXTM3U", "#EXT-X-VERSION:3", f"#EXT-X-TARGETDURATION:{max(1, math.ceil(total))}",
        "#EXT-X-MEDIA-SEQUENCE:0", "#EXT-X-PLAYLIST-TYPE:VOD", f"#EXTINF:{total:.6f},", "0.vtt", "#EXT-X-ENDLIST",
    ]) + "\n"


def master_playlist(variants, audio=(), subtitles=(), iframes=None, images=None):
    """Variants in order of preference, the source's own codec first: a player starts
    on the first variant it can decode. With audio groups, each variant is listed once
    per group, the untouched tracks first, with the CODECS that choice needs.
    ``iframes``: the variant that has an I-frame playlist; ``images``: the trickplay
    layout of the image playlist (see ``trick_play_lines``)."""
    lines = ["#EXTM3U", "#EXT-X-VERSION:7" if any(v.container == "mp4" for v in variants) else "#EXT-X-VERSION:4",
             "#EXT-X-INDEPENDENT-SEGMENTS"]
    for track in audio:
        lines.append(
            f'#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="{track.group}",NAME="{_quoted(track.label)}",'
            f'LANGUAGE="{track.language}",DEFAULT={_yes(track.default)},AUTOSELECT=YES,CHANNELS="{track.channels}",'
            f'URI="{track.name}/stream.m3u8"')
    for track in subtitles:
        lines.append(
            f'#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",NAME="{_quoted(track.label)}",LANGUAGE="{track.language}",'
            f'DEFAULT=NO,AUTOSELECT={_yes(not track.forced)},FORCED={_yes(track.forced)},'
            f'URI="{track.name}/stream.m3u8"')
    groups = _audio_groups(audio)
    subs = ',SUBTITLES="subs"' if subtitles else ""
    for variant in variants:
        for group, codecs, bitrate in groups or [(None, (), 0)]:
            video_range = f",VIDEO-RANGE={variant.video_range}" if variant.video_range != "SDR" else ""
            audio_group = f',AUDIO="{group}"' if group else ""
            extra = bitrate if variant.container == "mp4" else 0  # TS bandwidths count muxed audio already
            listed = hls.join_codecs(variant.codecs, *codecs) if variant.container == "mp4" else variant.codecs
            lines.append(
                f"#EXT-X-STREAM-INF:BANDWIDTH={variant.bandwidth + extra},"
                f"AVERAGE-BANDWIDTH={variant.average_bandwidth + extra},"
                f"RESOLUTION={variant.width}x{variant.height},FRAME-RATE={variant.frame_rate:.3f},"
                f'CODECS="{listed}"{video_range}{audio_group}{subs}'
            )
            lines.append(f"{variant.name}/stream.m3u8")
    lines += trick_play_lines(iframes, images)
    return "\n".join(lines) + "\n"


def _audio_groups(audio):
    """``(group id, distinct codecs, highest bitrate)`` per group, original tracks first."""
    groups = {}
    for track in sorted(audio, key=lambda t: not t.original):
        codecs, bitrate = groups.get(track.group, ((), 0))
        groups[track.group] = (codecs + (track.codec,) * (track.codec not in codecs), max(bitrate, track.bitrate))
    return [(group, codecs, bitrate) for group, (codecs, bitrate) in groups.items()]


def _yes(flag):
    return "YES" if flag else "NO"


def _quoted(text):
    return text.replace('"', "'")


# ---------------------------------------------------------------------------
# Trick play: I-frame and image playlists
#
# Apple TV and Safari scrub through an I-frame playlist: one keyframe per entry, shown
# while the user drags. Roku-style players read tiles of still images from an image
# playlist (trickplay.py plans those). Both are listed in the master after the variants.

IFRAME_SHARE = 5  # an I-frame playlist's bitrate estimate: a fifth of its variant's


def trick_play_lines(iframes=None, images=None):
    """The master playlist's ``EXT-X-I-FRAME-STREAM-INF`` and ``EXT-X-IMAGE-STREAM-INF`` lines."""
    lines = []
    if iframes is not None:
        video_codec = iframes.codecs.split(",")[0]
        lines.append(f"#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH={max(1, iframes.bandwidth // IFRAME_SHARE)},"
                     f'RESOLUTION={iframes.width}x{iframes.height},CODECS="{video_codec}",'
                     f'URI="{iframes.name}/iframes.m3u8"')
    if images is not None:
        tile_bits = images.tile_width * images.tile_height  # about a bit per pixel in JPEG at this size
        lines.append(f"#EXT-X-IMAGE-STREAM-INF:BANDWIDTH={max(1, int(tile_bits / images.interval))},"
                     f'RESOLUTION={images.tile_width}x{images.tile_height},CODECS="jpeg",'
                     f'URI="trickplay/images.m3u8"')
    return lines


def iframe_playlist(timeline):
    """Each keyframe as a segment of its own (``iframes/<n>.ts`` holds just that frame),
    lasting until the next keyframe."""
    keyframes = list(timeline.keyframes) + [timeline.copy[-1]]
    durations = [float((b - a) * timeline.time_base) for a, b in zip(keyframes, keyframes[1:])]
    lines = ["#EXTM3U", "#EXT-X-VERSION:4",
             f"#EXT-X-TARGETDURATION:{max(1, math.ceil(max(durations) - 1e-6))}",
             "#EXT-X-MEDIA-SEQUENCE:0", "#EXT-X-PLAYLIST-TYPE:VOD", "#EXT-X-I-FRAMES-ONLY"]
    for index, duration in enumerate(durations):
        lines += [f"#EXTINF:{duration:.6f},", f"iframes/{index}.ts"]
    lines.append("#EXT-X-ENDLIST")
    return "\n".join(lines) + "\n"
