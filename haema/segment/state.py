"""What a worker keeps between jobs, so a job's cost does not repeat."""
import collections
import dataclasses
import os

from ..lazy import lazy_import

av = lazy_import("av")

# FFmpeg opening a file reads ahead and decodes up to 7 frames of H.264 to learn the
# stream's reorder depth: ~35 ms of CPU for a 1080p file, most of a cold copy segment.
QUICK_OPEN = {"probesize": "32768", "analyzeduration": "0", "skip_frame": "all"}
HEADER_FORMATS = ("mov,mp4", "matroska")  # FFmpeg's names of containers that declare every stream up front


class WorkerState:
    """What one worker keeps between jobs, so a job's cost does not repeat.

    - Open inputs, for segments that only copy packets: opening a 1080p MP4 probes it
      (about 40 ms), more than cutting a copy segment takes. Each segment still seeks.
      Segments that decode open the file afresh, as decoders do not all forget
      everything on a flush (AC-3's dither state, say) and the bytes must not depend
      on history.
    - The decode continuation: a transcode that follows the one just made (prefetch, or
      a player fetching in order) goes on decoding where that one stopped instead of
      seeking back to a keyframe and decoding up to its start again: in a long GOP that
      is most of the work. Decoding is deterministic and each segment still gets a fresh
      encoder and filter graph, so the bytes are those of a segment made alone. Only with
      copied (AAC) or no audio: audio decoders keep state that a fresh start would not
      reproduce.
    """

    OPEN_INPUTS = 4

    def __init__(self):
        self.inputs = collections.OrderedDict()  # path → OpenInput, least recently used first
        self.continuation: Continuation | None = None

    def open_input(self, job, reading=True):
        """The worker's open container of ``job.path``, reopened if the file changed.
        ``reading=False`` only opens it (``OpenJob``), so it is still at its start."""
        stat = os.stat(job.path)
        version = (stat.st_size, stat.st_mtime_ns)
        source = self.inputs.pop(job.path, None)
        # the first segment reads from the very start, unseeked: an input read before is not there
        if source is not None and (source.version != version or (reading and job.segment.first and source.read)):
            source.container.close()
            source = None
        if source is None:
            source = OpenInput(version=version, container=open_input(job), read=False)
        self.inputs[job.path] = dataclasses.replace(source, read=source.read or reading)
        while len(self.inputs) > self.OPEN_INPUTS:
            self.inputs.popitem(last=False)[1].container.close()
        return source.container

    def close_input(self, path):
        source = self.inputs.pop(path, None)
        if source is not None:
            source.container.close()

    def take_continuation(self):
        resume, self.continuation = self.continuation, None
        return resume


@dataclasses.dataclass(frozen=True, kw_only=True)
class OpenInput:
    """A source the worker keeps open for copies."""

    version: tuple  # (size, mtime in ns) of the file when it was opened
    container: object  # PyAV's InputContainer
    read: bool  # demuxed since it was opened: no longer at the file's start


@dataclasses.dataclass(frozen=True, kw_only=True)
class VideoCarry:
    """What a transcode's video decoding read past its segment's end."""

    frames: list  # decoded
    packets: list  # read, not yet decoded


@dataclasses.dataclass(frozen=True, kw_only=True)
class Carry:
    """What a transcode read past its segment's end, for the segment after it."""

    packets: object  # the demuxer's packet iterator, open where the reading stopped
    video: VideoCarry
    audio: list | None  # copied audio packets (None: no audio)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Continuation:
    """A transcode's decoding, stopped at its segment's end, kept for the next segment."""

    key: tuple  # the file version, variant, audio stream and start of the segment it goes on into
    container: object  # PyAV's InputContainer, with its decoder open
    carry: Carry

    def close(self):
        self.carry.packets.close()  # before its container; see probe.reading
        self.container.close()


def open_input(job):
    """Open the source for reading. The scan already knows its streams and reorder depth;
    in a container whose header lists every stream, FFmpeg need not read ahead or decode
    to find them (``QUICK_OPEN``: the codec options only reach the probing decoders, not
    ours). MPEG-TS and other header-less streams, whose streams are only found by reading
    packets, and files scanned before the depth was recorded are probed in full."""
    quick = job.info.container.startswith(HEADER_FORMATS) and job.info.video.reorder_depth is not None
    return av.open(job.path, metadata_errors="ignore", options=QUICK_OPEN if quick else {})
