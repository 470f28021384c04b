"""The PlaybackInfo decision: how a Jellyfin client should play one file.

Pure: media facts and the client's DeviceProfile in, a ``Decision`` out. The order is
Jellyfin's: direct play when the client decodes the container and both codecs as they
are; else Haema's HLS, whose "original" variant copies the video when the client takes
its codec over HLS ("HLS copy"), and whose ladder transcodes otherwise.
"""
import dataclasses

from .. import probe

# FFmpeg's format names as Jellyfin names containers (the first one a client may list)
CONTAINERS = {"mov,mp4,m4a,3gp,3g2,mj2": "mp4", "matroska,webm": "mkv", "mpegts": "ts", "avi": "avi",
              "webm": "webm", "flv": "flv", "asf": "asf", "mpeg": "mpeg"}
# a client that sends no DeviceProfile (a GET PlaybackInfo) is taken for a plain browser
BROWSER_PROFILE = {"DirectPlayProfiles": [{"Container": "mp4,m4v", "Type": "Video", "VideoCodec": "h264",
                                           "AudioCodec": "aac,mp3"}],
                   "TranscodingProfiles": [{"Container": "ts", "Type": "Video", "Protocol": "hls",
                                            "VideoCodec": "h264", "AudioCodec": "aac"}]}


@dataclasses.dataclass(frozen=True)
class MediaFacts:
    container: str  # Jellyfin's name: "mp4", "mkv"
    video_codec: str
    audio_codecs: tuple  # of every audio track, in MediaStreams order
    default_audio: int  # position in ``audio_codecs`` of the track a player starts with (-1: none)
    copyable: bool  # Haema's "original" variant copies the video (probe.is_copyable)
    bitrate: int = 0  # of the whole file, bits a second (0: unknown)


@dataclasses.dataclass(frozen=True)
class Decision:
    method: str  # "DirectPlay", "HLS copy" or "HLS transcode"
    reason: str
    max_bitrate: int = None  # the client's limit (bits a second) that HLS variants must keep under, if any

    @property
    def direct(self):
        return self.method == "DirectPlay"


def facts_of(info):
    """The MediaFacts of a probed file (probe.MediaInfo)."""
    default = probe.default_audio(info)
    return MediaFacts(container=container_name(info.container), video_codec=info.video.codec,
                      audio_codecs=tuple(t.codec for t in info.audio),
                      default_audio=info.audio.index(default) if default else -1,
                      copyable=probe.is_copyable(info), bitrate=info.bit_rate or 0)


def container_name(ffmpeg_format):
    return CONTAINERS.get(ffmpeg_format, ffmpeg_format.split(",")[0])


def decide(facts, profile, audio_position=None, max_bitrate=None, direct=True, copy=True):
    """``profile``: the DeviceProfile as sent (JSON), or None. ``audio_position``: the audio
    track asked for (position among the audio tracks), None for the default one.
    ``max_bitrate``: the client's limit (its request's MaxStreamingBitrate), else the profile's.
    ``direct``/``copy``: false when the request says ``EnableDirectPlay``/``AllowVideoStreamCopy``
    false (a TV app retrying after its player failed on the file)."""
    profile = profile if isinstance(profile, dict) and profile else BROWSER_PROFILE
    audio = facts.default_audio if audio_position is None else audio_position
    audio_codec = facts.audio_codecs[audio] if 0 <= audio < len(facts.audio_codecs) else None
    limit = _positive(max_bitrate) or _positive(_get(profile, "MaxStreamingBitrate"))
    if limit and facts.bitrate > limit:  # the file itself, or its copy, would not come through in time
        return Decision("HLS transcode", f"{facts.bitrate // 1000} kb/s over the client's {limit // 1000} kb/s",
                        limit)
    if not direct:
        reason = "the client asked for no direct play"
    elif audio != facts.default_audio and len(facts.audio_codecs) > 1:
        reason = "another audio track than the file's default"  # a browser cannot switch tracks of a file
    elif not _fits_direct(profile, facts.container, facts.video_codec, audio_codec):
        reason = f"{facts.container} {facts.video_codec}/{audio_codec} not in the DirectPlayProfiles"
    else:
        return Decision("DirectPlay", f"{facts.container} {facts.video_codec}/{audio_codec}")
    if copy and facts.copyable and _fits_hls(profile, facts.video_codec):
        return Decision("HLS copy", reason, limit)
    return Decision("HLS transcode", reason, limit)


def _positive(value):
    """A bitrate as clients send it (a number or a string of one); None if it is none."""
    try:
        number = int(float(value))
    except (TypeError, ValueError, OverflowError):
        return None
    return number if number > 0 else None


def subtitle_format(profile):
    """The file format to deliver text subtitles in (every one is delivered External, as a
    file): "vtt" unless the client's SubtitleProfiles take SubRip and not WebVTT."""
    formats = {str(_get(entry, "Format") or "").lower() for entry in _entries(profile or {}, "SubtitleProfiles")
               if str(_get(entry, "Method") or "").lower() == "external"}
    return "srt" if formats & {"srt", "subrip"} and not formats & {"vtt", "webvtt"} else "vtt"


def _fits_direct(profile, container, video_codec, audio_codec):
    for entry in _entries(profile, "DirectPlayProfiles"):
        if (_get(entry, "Type") or "Video").lower() != "video":
            continue
        if _listed(entry, "Container", container) and _listed(entry, "VideoCodec", video_codec) \
                and (audio_codec is None or _listed(entry, "AudioCodec", audio_codec)):
            return True
    return False


def _fits_hls(profile, video_codec):
    return any((_get(entry, "Protocol") or "").lower() == "hls" and _listed(entry, "VideoCodec", video_codec)
               for entry in _entries(profile, "TranscodingProfiles"))


def _entries(profile, key):
    value = _get(profile, key)
    return [entry for entry in value if isinstance(entry, dict)] if isinstance(value, list) else []


def _get(mapping, key):
    """Clients send PascalCase or camelCase."""
    return mapping.get(key, mapping.get(key[0].lower() + key[1:]))


def _listed(entry, key, value):
    """An empty or missing list allows anything, as in Jellyfin."""
    names = [n.strip().lower() for n in str(_get(entry, key) or "").split(",") if n.strip()]
    if not names:
        return True
    aliases = {"mp4": {"mp4", "m4v", "mov"}, "mkv": {"mkv", "matroska", "webm"}}.get(value, {value})
    return bool(aliases & set(names))
