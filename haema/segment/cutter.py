"""One segment's cut: seek, feed each stream's output (video.py, audio.py), mux."""
import bisect
import errno
import fractions
import logging
import math
import os
import typing

from .. import fmp4
from ..errors import HaemaError
from ..lazy import lazy_import
from .audio import AudioCopy, AudioEncode
from .clock import MPEG_TS_RATE, OUTPUT_ORIGIN, Clock
from .state import HEADER_FORMATS, Carry, Continuation, WorkerState, open_input
from .video import VideoCopy, VideoEncode, VideoOpening

av = lazy_import("av")

log = logging.getLogger(__name__)

SEEK_MARGIN = fractions.Fraction(3, 2)  # seconds read before a segment, for interleaved audio and warm-up

# one fragment per muxer, flushed at close; no index after it; times as given (no edit list)
MP4_FLAGS = "frag_custom+default_base_moof+skip_trailer"


def make_segment(job, target, state=None, cancelled=None):
    """Write the segment to the file ``target``. ``cancelled()`` is polled as the work
    goes on (prefetch passes it); once it returns true the work stops with
    ``InterruptedError``. ``state`` (a WorkerState) keeps inputs open between jobs.

    A file damaged where this segment lies is the file's fault, not the server's: a
    422 for the player (which then says so), the file and segment named in the log."""
    try:
        _make_segment(job, target, state or WorkerState(), cancelled)
    except (av.FFmpegError, fmp4.BoxError) as error:
        if getattr(error, "errno", None) == errno.ENOSPC:
            raise  # the disk written to is full, not the source damaged: made.make_file goes elsewhere
        raise _damaged(job, error) from None
    if os.path.getsize(target) == 0:  # nothing to read there: the file was cut short after its scan
        raise _damaged(job, "the file holds nothing there")


def _damaged(job, why):
    log.warning("segment %d of %s cannot be made: %s", job.segment.index, job.path, why)
    return HaemaError("this part of the video cannot be read: its file is damaged", 422)


def _make_segment(job, target, state, cancelled):
    if job.init and not job.header_from_packets:
        with open_input(job) as source:
            return _Cutter(source, job, target).header()
    if job.continuable:
        return _make_continuing(job, target, state, cancelled)
    if not job.only_copies:
        with open_input(job) as source:
            return _Cutter(source, job, target, cancelled).run()
    source = state.open_input(job)
    try:
        return _Cutter(source, job, target, cancelled).run()
    except BaseException:
        state.close_input(job.path)
        raise


def _continuation_key(job, start):
    stat = os.stat(job.path)
    return (job.path, stat.st_size, stat.st_mtime_ns, job.variant.name, job.audio_index, start)


def _make_continuing(job, target, state, cancelled):
    resume = state.take_continuation()
    if resume is not None and resume.key != _continuation_key(job, job.segment.start):
        resume.close()
        resume = None
    source = resume.container if resume else open_input(job)
    try:
        cutter = _Cutter(source, job, target, cancelled, resume)
        cutter.run()
    except BaseException:
        (resume or source).close()  # a continuation's packets too, if the cut did not get to them
        raise
    if cutter.carry is None:  # the last segment: nothing follows it
        source.close()
    else:
        state.continuation = Continuation(key=_continuation_key(job, job.segment.end), container=source, carry=cutter.carry)



class Output(typing.Protocol):
    """One output stream of a segment (video.py, audio.py): the cutter feeds it the
    source packets of its stream, and it muxes what falls in the segment through
    ``cutter.mux``."""

    stream: object  # the muxer's stream it writes
    done: bool  # the segment's part of the stream is complete: reading may stop once every output is done

    def feed(self, packet):
        """Take the next source packet of the stream (in demux order)."""

    def finish(self):
        """The reading is over: flush what is held and mux the rest."""


class Continued(Output, typing.Protocol):
    """An output whose reading a continuation takes on (a transcode with copied or no
    audio: ``SegmentJob.continuable``)."""

    def resume(self, carry):
        """Go on from what the segment before read past its end (its ``carry()``)."""

    def carry(self):
        """What this segment read past its end, for the next one."""


class _Cutter:
    def __init__(self, source, job, target, cancelled=None, resume=None):
        self.source = source
        self.cancelled = cancelled
        self.resume = resume
        self.carry: Carry | None = None  # for the next segment's continuation
        self.job = job
        self.segment = job.segment
        self.video = source.streams[job.info.video.index]
        self.audio = None if job.audio_index is None else source.streams[job.audio_index]
        self.time_base = job.keyframes.time_base
        self.origin = job.keyframes.pts[0]
        self._clocks, self._bound_cache = {}, {}
        self.target = target
        if job.container == "mp4":
            self.muxed = f"{target}.mux"  # the muxer's own file: its header and fragment are split from it
            self.muxer = av.open(self.muxed, "w", format="mp4", options={
                "movflags": MP4_FLAGS + ("+delay_moov" if job.header_from_packets else "+empty_moov"),
                "use_editlist": "0", "video_track_timescale": str(MPEG_TS_RATE),
                "fragment_index": str(job.segment.index + 1)})
        else:
            self.muxed = None
            # Each segment's continuity counters start afresh, which a demuxer reading segments
            # as one stream (ffmpeg's, GStreamer's) takes for lost packets at every join;
            # flagging each stream's first packet as a discontinuity says it is expected.
            self.muxer = av.open(target, "w", format="mpegts",
                                 options={"mpegts_copyts": "1", "mpegts_flags": "initial_discontinuity"})
        self.first_decode_times = {}  # fMP4 track id → decode time of its first packet
        self.outputs: dict[int, Output] = {}  # source stream index → its output
        self.opening = VideoOpening() if job.segment.first else None
        if job.variant is not None:
            self.outputs[self.video.index] = VideoCopy(self) if job.variant.copy else VideoEncode(self)
        if self.audio is not None:
            self.outputs[self.audio.index] = AudioCopy(self) if job.audio_copied else AudioEncode(self)
        # opens the encoders now, in this thread: the first mux would, while the encoder
        # thread may already be using the video one
        self.muxer.start_encoding()

    # -- time -----------------------------------------------------------------

    def to_output(self, pts, time_base):
        """Source timestamp → output 90 kHz timestamp, the same for every segment:
        ``output_time(pts * time_base - origin)``."""
        return self.clock(time_base).ticks(pts)

    def clock(self, time_base, rate=MPEG_TS_RATE):
        """Source timestamps in ``time_base`` → output ticks at ``rate`` per second."""
        clock = self._clocks.get((time_base, rate))
        if clock is None:
            offset = (OUTPUT_ORIGIN - self.origin * self.time_base) * rate
            clock = self._clocks[time_base, rate] = Clock(time_base * rate, offset)
        return clock

    def audio_rate(self, sample_rate):
        """Ticks per second of the output audio: fMP4 counts whole samples."""
        return sample_rate if self.job.container == "mp4" else MPEG_TS_RATE

    def _bounds(self, time_base):
        """The segment's start and end as the first timestamps at or after them in ``time_base``."""
        bounds = self._bound_cache.get(time_base)
        if bounds is None:
            start, end = self.segment.start * self.time_base, self.segment.end * self.time_base
            bounds = self._bound_cache[time_base] = (math.ceil(start / time_base), math.ceil(end / time_base))
        return bounds

    def in_segment(self, pts, time_base):
        """Does a source timestamp fall in this segment? Open-ended at the file's ends."""
        start, end = self._bounds(time_base)
        return (self.segment.first or pts >= start) and (self.segment.last or pts < end)

    def past_end(self, pts, time_base):
        return not self.segment.last and pts >= self._bounds(time_base)[1]

    # -- the cut --------------------------------------------------------------

    def header(self):
        """Write the fMP4 init section: what the muxer writes before any packet. It
        depends only on the streams, so it is the same for every segment of the rendition."""
        self.outputs.clear()
        try:
            self.muxer.close()
            fmp4.write_header(self.muxed, self.target)
        finally:
            os.remove(self.muxed)

    def run(self):
        try:
            self._cut()
            if self.muxed is not None:
                if self.job.init:
                    fmp4.write_header(self.muxed, self.target)
                else:
                    fmp4.write_fragment(self.muxed, self.target, self.first_decode_times)
        except BaseException:
            self.muxer.close()  # the file is removed by make_file
            raise
        finally:
            if self.muxed is not None and os.path.exists(self.muxed):
                os.remove(self.muxed)
            # outputs and cutter refer to each other; breaking the cycle frees decoders and
            # encoders (tens of MB at 1080p) now rather than at some later garbage collection
            self.outputs.clear()

    def _cut(self):
        outputs = self.outputs
        video, audio = outputs.get(self.video.index), outputs.get(getattr(self.audio, "index", None))
        if self.resume is None:
            self._seek()
            packets = self.source.demux([self.source.streams[index] for index in outputs])
        else:
            packets = self.resume.carry.packets
            video.resume(self.resume.carry.video)
            if audio is not None:
                audio.resume(self.resume.carry.audio)
        try:
            for number, packet in enumerate(packets):
                if self.cancelled and number % 8 == 0 and self.cancelled():
                    raise InterruptedError("cancelled")
                output = outputs[packet.stream.index]
                if packet.size == 0 or packet.is_corrupt:  # end of stream; data cut short by the file's end
                    continue
                output.feed(packet)
                if output.done and all(o.done for o in outputs.values()):
                    break
            for output in outputs.values():
                output.finish()
            if self.opening is not None:
                for packet in self.opening.release(None):
                    self._write(packet)
            self.muxer.close()
        except BaseException:
            packets.close()  # see probe.reading
            raise
        if self.job.continuable and not self.segment.last:
            self.carry = Carry(packets=packets, video=video.carry(), audio=audio.carry() if audio is not None else None)
        else:
            packets.close()

    def _seek(self):
        """Position the demuxer a little before the keyframe the segment decodes from.

        A copy from MP4 or Matroska seeks to the keyframe itself: those demuxers place
        every stream at the time sought (MP4 seeks each stream on its own, Matroska drops
        every block before it), so no sound is lost, nothing is encoded that needs warming
        up, and a GOP less is read: a quarter of a copy segment's CPU, the same bytes."""
        if self.segment.first:
            return  # read from the very start: nothing may be lost before the first keyframe
        exact = self.job.only_copies and self.job.info.container.startswith(HEADER_FORMATS)
        target = self.segment.decode_from - (0 if exact else SEEK_MARGIN / self.time_base)
        keyframes = self.job.keyframes.pts
        seek_to = keyframes[max(0, bisect.bisect_right(keyframes, math.floor(target)) - 1)]
        self.source.seek(int(seek_to), stream=self.video, backward=True, any_frame=False)

    def mux(self, packet, stream):
        packet.stream = stream
        if self.opening is not None and stream.type == "video":
            for ready in self.opening.release(packet):
                self._write(ready)
            return
        self._write(packet)

    def _write(self, packet):
        if self.muxed is not None:  # fMP4: the fragment's header needs each track's first decode time
            stream = packet.stream
            if stream.index + 1 not in self.first_decode_times:  # in the track's timescale
                self.first_decode_times[stream.index + 1] = int(round(packet.dts * packet.time_base / stream.time_base))
        self.muxer.mux(packet)
