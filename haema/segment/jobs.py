"""What a worker is asked to make: plain data, picklable over a pipe (pool.py)."""
import dataclasses

from .. import hls
from ..made import Destination, make_file
from ..probe import Keyframes, MediaInfo
from .cutter import make_segment

# FFmpeg builds the dac3/dec3 box of AC-3 and E-AC-3 from their first packet, so their
# movie header waits for it (delay_moov); every other header is written up front
HEADER_FROM_PACKETS = {"ac3", "eac3"}


@dataclasses.dataclass(frozen=True, kw_only=True)
class EncoderSettings:
    """How transcoded video is encoded: the server's --encoder, --x264-preset and --x264-crf."""

    encoder: str  # "libx264", or a hardware encoder (see ``usable_encoder``)
    x264_preset: str
    x264_crf: int


@dataclasses.dataclass(frozen=True, kw_only=True)
class SegmentJob:
    """Everything a worker needs to make one segment: plain data, picklable over a pipe,
    built with keywords so a new field (a container format, say) is one line here.

    ``variant`` is the video to make (None for an audio rendition's segment) and
    ``audio_index`` the audio stream to carry (None for none). ``container`` is
    "mpegts" or "mp4"; ``copy_audio`` carries the audio in its own codec (else only AAC
    is copied and anything else encoded to AAC); ``init`` asks for the fMP4 init section
    instead of a segment. ``destination`` says where the file goes, whatever its format:
    the pipe carries its path, never its bytes.
    """

    key: str  # the cache key; a request for the key being prefetched joins that work
    destination: Destination
    path: str
    info: MediaInfo
    keyframes: Keyframes
    segment: hls.Segment
    settings: EncoderSettings
    variant: hls.Variant | None = None
    audio_index: int | None = None
    container: str = "mpegts"
    copy_audio: bool = False
    init: bool = False

    @property
    def quick(self):
        """Milliseconds of work, for pool.py's quick lane: the video copied or absent
        (only audio, perhaps encoded: a few ms per second of sound), or an init section."""
        return self.init or self.variant is None or self.variant.copy

    @property
    def header_from_packets(self):
        """Does FFmpeg need the audio's first packet to write the init section (AC-3, E-AC-3)?"""
        audio = self._audio()
        return audio is not None and self.copy_audio and audio.codec in HEADER_FROM_PACKETS

    @property
    def continuable(self):
        """Can the next segment go on decoding where this one stops (``WorkerState``)?"""
        return self.variant is not None and not self.variant.copy and self.audio_copied

    @property
    def audio_copied(self):
        """Is the job's audio, if any, copied rather than encoded?"""
        audio = self._audio()
        return audio is None or self.copy_audio or hls.aac_copied(audio)

    @property
    def only_copies(self):
        return (self.variant is None or self.variant.copy) and self.audio_copied

    def _audio(self):
        return next((a for a in self.info.audio if a.index == self.audio_index), None)

    def run(self, state, cancelled=None):
        """The worker protocol (pool.py): make the file, return a ``MadeFile``."""
        suffix = ".ts" if self.container == "mpegts" else ".mp4" if self.init else ".m4s"
        return make_file(self.destination, suffix, lambda target: make_segment(self, target, state, cancelled))


@dataclasses.dataclass(frozen=True, kw_only=True)
class OpenJob:
    """Open a source in the quick worker before its first segment is asked for: asked
    with the master playlist (opening a long MP4 reads its index, 10-20 ms of CPU), with
    that segment to make ahead, so the player's request finds it made or under way."""

    key: str
    path: str
    info: MediaInfo
    quick = True

    def run(self, state, cancelled=None):
        state.open_input(self, reading=False)



def segment_job(rendition, index, *, key, destination, path, info, keyframes, timeline, settings, init=False):
    """The job of segment ``index`` (or, with ``init``, the init section) of a video
    variant or audio rendition (hls.Variant, hls.AudioRendition) on ``timeline``.

    An audio rendition's segment carries that stream alone, in its own codec if it is
    the ``original`` one; a variant's carries its video and the muxed audio, if any
    (MPEG-TS variants of a file with one audio track)."""
    audio = isinstance(rendition, hls.AudioRendition)
    return SegmentJob(
        key=key,
        destination=destination,
        path=path,
        info=info,
        keyframes=keyframes,
        segment=hls.segment(timeline, rendition, index),
        settings=settings,
        variant=None if audio else rendition,
        audio_index=rendition.stream_index if audio else hls.muxed_audio(info),
        container=rendition.container,
        copy_audio=audio and rendition.original,
        init=init,
    )
