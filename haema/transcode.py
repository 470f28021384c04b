"""Make one segment of one variant (MPEG-TS, or fragmented MP4) by double seeking.

Seek to a keyframe before the segment, demux (and, for transcodes, decode) up to the
segment start, then copy or encode exactly the frames of ``[start, end)`` and mux them.
A segment depends only on its plan (hls.Segment), never on which segment was made
before or in which process, so segments made in any order join exactly and the same
segment made twice is byte-identical.

Timestamps keep the source's timeline, shifted by one constant per file: the first
keyframe lands at ``hls.OUTPUT_ORIGIN`` seconds. Each output stream counts at its own
rate: 90 kHz in MPEG-TS and for fMP4 video, the sample rate for fMP4 audio (so an audio
fragment's times are whole samples).

A fragmented MP4 segment is made the same way by a muxer of its own; its header is the
init section and the rest is the fragment (fmp4.py). An ``init`` job writes the header
alone, or, where FFmpeg needs packets to write it (AC-3), cuts the first segment and
keeps its header.

Audio joins exactly too. Copied AAC packets belong to the segment their timestamp falls
in. Other audio (AAC at a low rate too, see ``hls.aac_copied``) is encoded to AAC on a
grid of 1024-sample frames fixed for the whole file; a segment encodes the frames of
its interval, warmed up by a few frames before its start whose packets are dropped, so
there is no gap, overlap or priming silence at a join.
"""
import bisect
import collections
import concurrent.futures
import dataclasses
import errno
import fractions
import functools
import logging
import math
import os

from . import fmp4, hls
from .errors import HaemaError
from .lazy import lazy_import
from .made import Destination, make_file
from .probe import Keyframes, MediaInfo, frame_duration

av = lazy_import("av")

log = logging.getLogger(__name__)

MPEG_TS_RATE = 90000
TS_TIME_BASE = fractions.Fraction(1, MPEG_TS_RATE)
AAC_FRAME = 1024
SAMPLE_BYTES = 4  # decoded audio is resampled to planar 32-bit float (fltp)
AAC_RATES = {8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000, 64000, 88200, 96000}
AUDIO_WARMUP_FRAMES = 8  # AAC frames encoded before a segment start and dropped
SEEK_MARGIN = fractions.Fraction(3, 2)  # seconds read before a segment, for interleaved audio and warm-up
ENCODE_AHEAD = 4  # frames handed to the encoder thread and not yet encoded, at most
# Up to 1080p the source is decoded on one thread: the encoder, on one thread of its own
# (byte-identical remakes), is the slower of the two there, and each further decoder
# thread only holds frames of its own (17 MB at 1080p). Bigger pictures use every core.
ONE_DECODER_THREAD_PIXELS = 1920 * 1088
# FFmpeg opening a file reads ahead and decodes up to 7 frames of H.264 to learn the
# stream's reorder depth: ~35 ms of CPU for a 1080p file, most of a cold copy segment.
QUICK_OPEN = {"probesize": "32768", "analyzeduration": "0", "skip_frame": "all"}
HEADER_FORMATS = ("mov,mp4", "matroska")  # FFmpeg's names of containers that declare every stream up front
# one fragment per muxer, flushed at close; no index after it; times as given (no edit list)
MP4_FLAGS = "frag_custom+default_base_moof+skip_trailer"
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
        self.inputs = collections.OrderedDict()  # path → _OpenInput, least recently used first
        self.continuation = None

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
            source = _OpenInput(version, open_input(job), read=False)
        self.inputs[job.path] = source._replace(read=source.read or reading)
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


_OpenInput = collections.namedtuple("_OpenInput", "version container read")


class _Continuation(collections.namedtuple("_Continuation", "key container packets video_carry audio_carry")):
    __slots__ = ()

    def close(self):
        self.packets.close()  # before its container; see probe.reading
        self.container.close()


def open_input(job):
    """Open the source for reading. The scan already knows its streams and reorder depth;
    in a container whose header lists every stream, FFmpeg need not read ahead or decode
    to find them (``QUICK_OPEN``: the codec options only reach the probing decoders, not
    ours). MPEG-TS and other header-less streams, whose streams are only found by reading
    packets, and files scanned before the depth was recorded are probed in full."""
    quick = job.info.container.startswith(HEADER_FORMATS) and job.info.video.reorder_depth is not None
    return av.open(job.path, metadata_errors="ignore", options=QUICK_OPEN if quick else {})


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
    if job.init and not _header_from_packets(job):
        with open_input(job) as source:
            return _Cutter(source, job, target).header()
    if _continuable(job):
        return _make_continuing(job, target, state, cancelled)
    if not _only_copies(job):
        with open_input(job) as source:
            return _Cutter(source, job, target, cancelled).run()
    source = state.open_input(job)
    try:
        return _Cutter(source, job, target, cancelled).run()
    except BaseException:
        state.close_input(job.path)
        raise


def _header_from_packets(job):
    audio = next((a for a in job.info.audio if a.index == job.audio_index), None)
    return audio is not None and job.copy_audio and audio.codec in HEADER_FROM_PACKETS


def _continuable(job):
    return job.variant is not None and not job.variant.copy and _audio_copied(job)


def _audio_copied(job):
    """Is the job's audio, if any, copied rather than encoded?"""
    audio = next((a for a in job.info.audio if a.index == job.audio_index), None)
    return audio is None or job.copy_audio or hls.aac_copied(audio)


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
        state.continuation = _Continuation(_continuation_key(job, job.segment.end), source, *cutter.carry)


def _only_copies(job):
    return (job.variant is None or job.variant.copy) and _audio_copied(job)


def output_time(seconds_after_first_keyframe, rate=MPEG_TS_RATE):
    """The output timestamp of an instant of the source (by default MPEG-TS's 90 kHz)."""
    return int(round((seconds_after_first_keyframe + hls.OUTPUT_ORIGIN) * rate))


class _Cutter:
    def __init__(self, source, job, target, cancelled=None, resume=None):
        self.source = source
        self.cancelled = cancelled
        self.resume = resume
        self.carry = None  # (packets, video carry, audio carry) for the next segment's continuation
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
                "movflags": MP4_FLAGS + ("+delay_moov" if _header_from_packets(job) else "+empty_moov"),
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
        self.outputs = {}
        self.opening = _VideoOpening() if job.segment.first else None
        if job.variant is not None:
            self.outputs[self.video.index] = VideoCopy(self) if job.variant.copy else VideoEncode(self)
        if self.audio is not None:
            self.outputs[self.audio.index] = AudioCopy(self) if _audio_copied(job) else AudioEncode(self)
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
            offset = (hls.OUTPUT_ORIGIN - self.origin * self.time_base) * rate
            clock = self._clocks[time_base, rate] = _Clock(time_base * rate, offset)
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
            packets = self.resume.packets
            video.resume(self.resume.video_carry)
            if audio is not None:
                audio.resume(self.resume.audio_carry)
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
        if _continuable(self.job) and not self.segment.last:
            self.carry = (packets, video.carry(), audio.carry() if audio is not None else None)
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
        exact = _only_copies(self.job) and self.job.info.container.startswith(HEADER_FORMATS)
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


class _Clock:
    """``round(pts * scale + offset)`` for exact rational ``scale`` and ``offset``, in
    integers: the same value as with Fractions (round half to even), a few times faster,
    which counts at hundreds of packets a segment."""

    def __init__(self, scale, offset):
        self.scale, self.offset = fractions.Fraction(scale), fractions.Fraction(offset)
        self._denominator = self.scale.denominator * self.offset.denominator
        self._a = self.scale.numerator * self.offset.denominator
        self._b = self.offset.numerator * self.scale.denominator

    def ticks(self, pts):
        return _round_half_even(pts * self._a + self._b, self._denominator)

    def length(self, duration):
        return _round_half_even(duration * self.scale.numerator, self.scale.denominator)


def _round_half_even(numerator, denominator):
    whole, rest = divmod(numerator, denominator)
    if 2 * rest > denominator or (2 * rest == denominator and whole % 2):
        whole += 1
    return whole


class _VideoOpening:
    """The decode times of a file's first frames, moved up to its first picture.

    With B-frames the first frames are decoded before the first one is shown (DTS before
    PTS). hls.js puts the start of its timeline at the earliest of the first audio PTS
    and the first video DTS, so the first picture came a few frames after zero, and it
    reported jumping that hole (``bufferSeekOverHole``) at every start. Spreading the
    decode times of the frames decoded before the first picture between that picture's
    time and the next decode time keeps them increasing and never after their own
    presentation, and changes nothing from there on, so the join with segment 1 is
    untouched. Only the first segment of a file has this; any other starts mid-timeline.
    """

    def __init__(self):
        self.held = []  # packets decoded before the first picture is shown, and that first one
        self.done = False

    def release(self, packet):
        """The packets that can be muxed now (``packet`` None: the segment is over)."""
        if self.done:
            return [] if packet is None else [packet]
        if packet is not None and (not self.held or packet.dts <= self.held[0].pts):
            self.held.append(packet)
            return []
        self.done = True
        held, self.held = self.held, []
        if held:
            first = held[0].pts
            until = packet.dts if packet is not None else first + len(held)
            moved = [min(p.pts, first + (until - first) * index // len(held)) for index, p in enumerate(held)]
            if all(a < b for a, b in zip(moved, moved[1:] + [until])):
                for p, dts in zip(held, moved):
                    p.dts = dts
        return held + ([] if packet is None else [packet])


# ---------------------------------------------------------------------------
# Video


class VideoCopy:
    """Source video packets (H.264, HEVC, VP9, AV1) in decode order, from the segment's
    keyframe to the next segment's keyframe: each frame lands in exactly one segment,
    open GOP or not (the plan starts such a segment at its keyframe's leading B-frames,
    shown before it).

    Decode times are rebuilt from the presentation times (sorted, then delayed by the
    stream's reorder depth): Matroska has none for the first packets after a seek, and
    rebuilding them the same way for every segment keeps them continuous across joins.
    """

    def __init__(self, cutter):
        self.cutter = cutter
        # opaque: the stream's parameters as they are, with no encoder looked up
        # (there is none for AV1, whose decoder is libdav1d)
        self.stream = cutter.muxer.add_stream_from_template(cutter.video, opaque=True)
        if cutter.job.container == "mp4" and cutter.job.info.video.codec == "hevc":
            self.stream.codec_tag = "hvc1"  # parameter sets in the init section: what Apple requires
        depth = cutter.job.info.video.reorder_depth
        if depth is None:  # scanned before the depth was kept: FFmpeg found it at open
            depth = cutter.video.codec_context.reorder_depth or 0
        self.delay = depth * frame_duration(cutter.video) * cutter.time_base
        self.packets = []
        self.started = False
        self.done = False

    def feed(self, packet):
        segment = self.cutter.segment
        if self.done or packet.pts is None:
            return
        if packet.is_keyframe:
            if not self.started and (segment.first or packet.pts == segment.decode_from):
                self.started = True
            elif self.started and self.cutter.past_end(packet.pts, self.cutter.video.time_base):
                self.done = True
                return
        if self.started:
            self.packets.append(packet)

    def finish(self):
        if not self.packets:
            return
        cutter = self.cutter
        time_base = cutter.video.time_base
        if cutter.job.container == "mpegts" and cutter.job.info.video.codec == "h264":
            self.packets[0] = with_parameter_sets(self.packets[0], cutter.video.codec_context.extradata)
        clock = cutter.clock(time_base)
        pts = [p.pts for p in self.packets]
        reorder = max(a - b for a, b in zip(sorted(pts), pts))
        decode = _Clock(clock.scale, clock.offset - max(self.delay, reorder * time_base) * MPEG_TS_RATE)
        for packet, presented, decoded in zip(self.packets, pts, sorted(pts)):
            packet.pts = clock.ticks(presented)
            packet.dts = decode.ticks(decoded)
            packet.duration = clock.length(packet.duration or 0)
            packet.time_base = TS_TIME_BASE
            cutter.mux(packet, self.stream)


def with_parameter_sets(packet, extradata):
    """``packet`` (a segment's first, from an MP4 or Matroska source) with the stream's
    SPS and PPS put before its frame, unless it has them.

    MPEG-TS carries them in band. The muxer's conversion from MP4's length-prefixed
    form adds them before IDR frames only, while an open-GOP file's segments may start
    on a recovery-point I-frame: such a segment could not be decoded on its own
    (Shaka's transmuxer failed on it, ffmpeg: "non-existing PPS 0 referenced").
    """
    if not extradata or extradata[0] != 1 or len(extradata) < 7:
        return packet  # Annex B already (MPEG-TS sources), with its parameter sets in band
    size = (extradata[4] & 3) + 1
    # read in place and copied once: a keyframe is hundreds of KB, and each copy of it is
    # a fresh mapping to fault in (memory.py)
    data = memoryview(packet)
    at = 0
    while at + size < len(data):
        length = int.from_bytes(data[at:at + size], "big")
        if data[at + size] & 0x1F == 7:  # an SPS: this frame brings its own
            return packet
        at += size + length
    sets, at = [], 5
    for mask in (0x1F, 0xFF):  # the SPS count shares its byte with reserved bits, the PPS count not
        count, at = extradata[at] & mask, at + 1
        for _ in range(count):
            length = int.from_bytes(extradata[at:at + 2], "big")
            sets.append(extradata[at + 2:at + 2 + length])
            at += 2 + length
    prefix = b"".join(len(unit).to_bytes(size, "big") + unit for unit in sets)
    joined = av.Packet(len(prefix) + len(data))
    written = memoryview(joined)
    written[:len(prefix)], written[len(prefix):] = prefix, data
    joined.pts, joined.dts, joined.duration = packet.pts, packet.dts, packet.duration
    joined.time_base, joined.is_keyframe = packet.time_base, packet.is_keyframe
    return joined


class VideoEncode:
    """Decode from the keyframe, drop frames before the start, encode ``[start, end)``
    to H.264 with a fresh encoder, so the segment opens with an IDR frame."""

    def __init__(self, cutter):
        self.cutter = cutter
        variant, settings = cutter.job.variant, cutter.job.settings
        self.decoder = cutter.video.codec_context
        if not self.decoder.is_open:  # an open one is a continuation's
            if self.decoder.width * self.decoder.height <= ONE_DECODER_THREAD_PIXELS:
                self.decoder.thread_count = 1
            else:
                self.decoder.thread_type = "AUTO"
            # Opened now, with skip_frame at its default: libdav1d (AV1) reads skip_frame
            # only when it opens and keeps it for its life. Opened lazily by the first
            # packet, which before a mid-GOP start asks for NONREF, it dropped every
            # non-reference frame of the segment itself. Decoders that read skip_frame
            # per frame (H.264, HEVC, VP9) still skip before the start; libdav1d decodes all.
            self.decoder.open()
        encoder = usable_encoder(settings.encoder, variant.width, variant.height)
        self.stream = cutter.muxer.add_stream(encoder, rate=_rate(cutter.video))
        self.stream.width, self.stream.height = variant.width, variant.height
        self.stream.pix_fmt = "yuv420p"
        self.stream.codec_context.time_base = TS_TIME_BASE
        if encoder == "libx264":
            self.stream.options = _x264_options(variant, settings)
        else:  # hardware encoders take a bitrate, not a quality
            self.stream.bit_rate = variant.average_bandwidth
            self.stream.codec_context.gop_size = 1 << 30
        self.graph = None
        self.graph_closed = False
        self.leftover_frames, self.leftover_packets = [], []  # read past the end
        self.encoding = collections.deque()  # futures of the encoder thread, in frame order
        self.feeding = False
        self.done = False

    def resume(self, carry):
        """Go on from the segment before: its decoder, and what it read past its end."""
        frames, packets = carry
        self.feeding = True
        for frame in frames:
            self._frame(frame)
        for packet in packets:
            self.feed(packet)

    def carry(self):
        return self.leftover_frames, self.leftover_packets

    def feed(self, packet):
        segment = self.cutter.segment
        if self.done:
            self.leftover_packets.append(packet)
            return
        if not self.feeding:
            if not (packet.is_keyframe and (segment.first or packet.pts == segment.decode_from)):
                return
            self.feeding = True
        # A frame shown before the start that no other frame references need not be
        # decoded at all: in a long GOP that saves much of the work of reaching the start.
        before_start = packet.pts is not None and packet.pts < segment.start and not segment.first
        self.decoder.skip_frame = "NONREF" if before_start else "DEFAULT"
        for frame in self.decoder.decode(packet):
            self._frame(frame)

    def _frame(self, frame):
        cutter = self.cutter
        if frame.pts is None:
            return
        if self.done:
            self.leftover_frames.append(frame)
            return
        time_base = cutter.video.time_base  # flushed frames carry none
        if cutter.past_end(frame.pts, time_base):
            self.done = True
            self.leftover_frames.append(frame)
            self._filtered(None)  # a deinterlacer still holds the segment's last frame
            return
        if cutter.in_segment(frame.pts, time_base):
            frame.time_base = time_base
            self._filtered(frame)

    def _filtered(self, frame):
        """Push a frame (None: the end) through the filter graph and encode what comes out,
        each output keeping its own source timestamp."""
        if self.graph is None:
            if frame is None:
                return
            self.graph = _video_graph(frame, self.cutter.job)
        elif self.graph_closed:
            return
        self.graph.push(frame)
        self.graph_closed = frame is None
        while True:
            try:
                scaled = self.graph.pull()
            except (av.error.BlockingIOError, av.error.EOFError):
                return
            # deinterlacers halve the time base, so each frame's own is used
            scaled.pts = self.cutter.to_output(scaled.pts, scaled.time_base)
            scaled.time_base = TS_TIME_BASE
            self._encode(scaled)

    def _encode(self, frame):
        """Hand ``frame`` (None: flush) to the encoder thread; mux what it has finished,
        in order. Waits only when it is ``ENCODE_AHEAD`` frames behind."""
        self.encoding.append(_encoder_thread().submit(self.stream.encode, frame))
        while self.encoding and (len(self.encoding) > ENCODE_AHEAD or self.encoding[0].done() or frame is None):
            for packet in self.encoding.popleft().result():
                self.cutter.mux(packet, self.stream)

    def finish(self):
        if not self.done and self.feeding:
            for frame in self.decoder.decode(None):
                self._frame(frame)
        self._filtered(None)
        self._encode(None)


@functools.cache
def _encoder_thread():
    """The worker's one encoding thread. The encoder works on frame n while this thread
    demuxes, decodes and scales frame n+1; PyAV releases the GIL in both codecs, so on
    2 cores 720p from 1080p goes about 9% faster than taking turns."""
    return concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="haema-encode")


def _rate(stream):
    rate = stream.average_rate or stream.guessed_rate or 25
    return fractions.Fraction(rate).limit_denominator(1001)


@functools.lru_cache(maxsize=8)
def usable_encoder(preferred, width, height):
    """``preferred`` if it opens on this machine (h264_v4l2m2m needs the Raspberry Pi's
    /dev/video11), else libx264, said once in the log."""
    if preferred == "libx264":
        return preferred
    try:
        context = av.CodecContext.create(preferred, "w")  # ffmpeg: h264_v4l2m2m
        context.width, context.height, context.pix_fmt = width, height, "yuv420p"
        context.time_base = fractions.Fraction(1, 25)
        context.open()
        return preferred
    except (av.FFmpegError, ValueError) as error:
        log.warning("encoder %s cannot be used here (%s); using libx264", preferred, error)
        return "libx264"


def _x264_options(variant, settings):
    """Segments must be byte-identical when remade, and libx264 as PyAV ships it is not
    unless it runs on one thread without its macroblock tree. The tree (mbtree=0) reads
    uninitialised stack memory (valgrind, at 108x192; none with mbtree=0). Sliced threads
    (PyAV's default) gave different bytes for the same frames at 108x192 and 360x640,
    frame threads (sliced-threads=0) for a 10-bit HEVC source's 108p rung. The encoder
    keeps a core busy still: it runs on its own thread beside decoding, and by default
    there is a worker process per core.

    Without the tree, the lookahead serves only rate control (VBV) and the placing of
    B-frames, and x264 keeps every looked-ahead frame with its half-pel planes: 10 frames
    at ``veryfast``, 22 MB more at 720p than ``rc-lookahead=3``, the length of a B-frame
    run and the least x264 takes (issue 13's 150 MB worker)."""
    return {
        "preset": settings.x264_preset,
        "crf": str(settings.x264_crf),
        "profile": "high",
        "level": f"{hls.h264_level(variant.width, variant.height, variant.frame_rate) / 10:.1f}",
        "maxrate": str(variant.bandwidth),
        "bufsize": str(variant.bandwidth * 2),
        "threads": "1",
        "x264-params": "scenecut=0:open-gop=0:keyint=infinite:min-keyint=1:force-cfr=1:mbtree=0:rc-lookahead=3",
    }


def _video_graph(frame, job):
    """Deinterlace, rotate upright, scale (bilinear: fast, and sharp enough when
    shrinking) and convert to 8-bit 4:2:0 in one filter graph."""
    video, variant = job.info.video, job.variant
    graph = av.filter.Graph()
    chain = [graph.add_buffer(width=frame.width, height=frame.height, format=frame.format.name,
                              time_base=frame.time_base)]
    if video.interlaced:
        chain.append(graph.add("bwdif", "mode=send_frame:deint=all"))
    rotation = video.rotation % 360
    if rotation == 90:
        chain.append(graph.add("transpose", "cclock"))
    elif rotation == 270:
        chain.append(graph.add("transpose", "clock"))
    elif rotation == 180:
        chain += [graph.add("hflip"), graph.add("vflip")]
    chain.append(graph.add("scale", f"{variant.width}:{variant.height}:flags=bilinear"))
    chain.append(graph.add("format", "yuv420p"))
    chain.append(graph.add("buffersink"))
    for a, b in zip(chain, chain[1:]):
        a.link_to(b)
    graph.configure()
    return graph


# ---------------------------------------------------------------------------
# Audio


class AudioCopy:
    """Packets whose timestamp falls in the segment, untouched (AAC, or any codec an
    fMP4 rendition carries as it is).

    Except, in the first segment, packets that end before the first picture: an MP4's
    AAC priming frame (its edit list hides it) would start the sound a frame before the
    video, and hls.js starts its timeline at the earliest sample, leaving a hole before
    the first picture. The media starts where the playlist starts."""

    def __init__(self, cutter):
        self.cutter = cutter
        self.stream = cutter.muxer.add_stream_from_template(cutter.audio, opaque=True)
        # the stream's clock, taken once: a packet's ``time_base`` is a new Fraction at each read
        time_base = self.time_base = cutter.audio.time_base
        self.rate = cutter.audio_rate(cutter.audio.codec_context.sample_rate)
        self.clock = cutter.clock(time_base, self.rate)
        self.output_time_base = fractions.Fraction(1, self.rate)
        self.start, self.end = cutter._bounds(time_base)
        self.leftover = []  # packets read past the end, for a continuation
        self.done = False

    def resume(self, packets):
        for packet in packets:
            self.feed(packet)

    def carry(self):
        return self.leftover

    def feed(self, packet):
        segment, pts = self.cutter.segment, packet.pts
        if pts is None:
            return
        if self.done or (not segment.last and pts >= self.end):
            self.done = True
            self.leftover.append(packet)
            return
        if not segment.first and pts < self.start:
            return
        if segment.first and (pts + (packet.duration or 0)) * self.time_base <= segment.start * self.cutter.time_base:
            return
        packet.pts = packet.dts = self.clock.ticks(pts)
        packet.duration = self.clock.length(packet.duration or 0)
        packet.time_base = self.output_time_base
        self.cutter.mux(packet, self.stream)

    def finish(self):
        pass


def _encoded_rate(rate):
    """The source's rate when AAC has it, unless its frames would last too long (the
    limit of ``hls.aac_copied``: none under 22.05 kHz); others become 48 kHz, or 44.1 for
    its family."""
    if rate in AAC_RATES and fractions.Fraction(AAC_FRAME, rate) <= hls.LONGEST_COPIED_AUDIO_FRAME:
        return rate
    return 44100 if rate and 44100 % rate == 0 else 48000


def _audio_shape(audio):
    """What a resampler is made for: a frame's, or a decoder's, sample format, layout and rate."""
    return audio.format.name, audio.layout.name, audio.sample_rate


class AudioEncode:
    """Decode any audio, place its samples on the file's fixed AAC frame grid, and encode
    the grid frames of this segment (plus a few dropped warm-up frames before it)."""

    def __init__(self, cutter):
        self.cutter = cutter
        source = cutter.audio.codec_context
        self.rate = _encoded_rate(source.sample_rate)
        self.channels = 1 if source.channels == 1 else 2
        self.layout = "mono" if self.channels == 1 else "stereo"
        self.decoder = source
        self.resampler = self._resampler()
        # (format, layout, rate) of the frames the resampler takes: the stream's, when
        # its header says; a frame of another shape waits in ``held`` for a second of it
        self.shape = _audio_shape(source) if source.format is not None and source.sample_rate else None
        self.held = None
        self.stream = cutter.muxer.add_stream("aac", rate=self.rate)
        self.stream.layout = self.layout
        self.stream.bit_rate = hls.AUDIO_BITRATE
        self.stream.codec_context.time_base = fractions.Fraction(1, self.rate)
        segment, tb = cutter.segment, cutter.time_base
        # grid frame j starts at sample j * 1024 counted from the first keyframe
        self.first_frame = 0 if segment.first else math.ceil((segment.start - cutter.origin) * tb * self.rate / AAC_FRAME)
        self.end_frame = None if segment.last else math.ceil((segment.end - cutter.origin) * tb * self.rate / AAC_FRAME)
        self.warm_from = max(0, self.first_frame - AUDIO_WARMUP_FRAMES) * AAC_FRAME
        self.need_until = None if self.end_frame is None else (self.end_frame + 2) * AAC_FRAME
        # the samples from ``self.buffer_start`` on, contiguous, as planar float bytes: a
        # bytearray per channel (the frames' own layout, with no array library in the worker)
        self.planes = [bytearray() for _ in range(self.channels)]
        self.buffer_start = self.filled = None  # grid sample indexes
        self.next_sample = None  # grid index of the next decoded sample
        self.done = False

    def feed(self, packet):
        if self.done:
            return
        try:
            frames = self.decoder.decode(packet)
        except av.FFmpegError:
            return  # a damaged packet right after a seek; it is before the warm-up region
        for frame in frames:
            self._frame(frame)

    def _resampler(self):
        return av.AudioResampler(format="fltp", layout=self.layout, rate=self.rate)

    def _frame(self, frame):
        """Resample and place a decoded frame, unless it is a decoder's stray.

        A decoder finding its feet after a seek into MPEG-PS can put out a frame or two
        of another layout or rate (MP2: a 384-sample stereo frame, a 1152-sample 8 kHz
        one), noise to drop. A change in the source itself (a TV recording going from
        5.1 to stereo) lasts: the resampler is made anew on its second frame."""
        if frame.pts is None and self.next_sample is None:
            return
        shape = _audio_shape(frame)
        if self.shape is None:
            self.shape = shape
        if shape != self.shape:
            if self.held is None or _audio_shape(self.held) != shape:
                self.held = frame
                return
            for converted in self.resampler.resample(None):  # the old shape's last samples
                self._place(converted, None, None)
            self.resampler, self.shape = self._resampler(), shape
            self._convert(self.held)
        self.held = None
        self._convert(frame)

    def _convert(self, frame):
        for converted in self.resampler.resample(frame):
            self._place(converted, frame.pts, self.cutter.audio.time_base)

    def _place(self, frame, pts, time_base):
        cutter = self.cutter
        count = frame.samples
        at = None
        if pts is not None:
            seconds = pts * time_base - cutter.origin * cutter.time_base
            at = int(round(seconds * self.rate))
        if self.next_sample is None or (at is not None and abs(at - self.next_sample) > self.rate // 10):
            self.next_sample = at  # first frame, or a real gap in the source: re-anchor
        start = self.next_sample
        self.next_sample += count
        if self.next_sample <= self.warm_from:
            return
        skip = 0  # leading samples of this frame not kept
        if start < self.warm_from:
            skip, start = self.warm_from - start, self.warm_from
        if self.buffer_start is None:
            self.buffer_start = self.filled = start
        if start > self.filled:  # a gap: silence keeps the grid
            silence = bytes((start - self.filled) * SAMPLE_BYTES)
            for plane in self.planes:
                plane += silence
            self.filled = start
        elif start < self.filled:  # an overlap: keep what came first
            skip += self.filled - start
        kept = max(0, count - skip)
        for plane, data in zip(self.planes, frame.planes):
            plane += memoryview(data)[skip * SAMPLE_BYTES:count * SAMPLE_BYTES]
        self.filled += kept
        if self.need_until is not None and self.filled >= self.need_until:
            self.done = True

    def finish(self):
        if not self.done:
            for frame in self.decoder.decode(None):
                self._frame(frame)
        if self.buffer_start is None:
            return
        first = self.buffer_start
        # start on the grid: the warm-up region begins on a frame boundary unless the
        # audio itself begins later, then pad its start with silence up to the grid
        offset = first % AAC_FRAME
        if offset:
            for plane in self.planes:
                plane[:0] = bytes(offset * SAMPLE_BYTES)
            first -= offset
        total = len(self.planes[0]) // SAMPLE_BYTES
        if self.end_frame is not None:
            total = min(total, max(0, self.end_frame * AAC_FRAME + AAC_FRAME - first))
        for begin in range(0, total, AAC_FRAME):
            count = min(AAC_FRAME, total - begin)
            frame = av.AudioFrame(format="fltp", layout=self.layout, samples=count, align=1)
            for plane, data in zip(frame.planes, self.planes):
                plane.update(memoryview(data)[begin * SAMPLE_BYTES:(begin + count) * SAMPLE_BYTES])
            frame.sample_rate = self.rate
            frame.pts = first + begin
            frame.time_base = fractions.Fraction(1, self.rate)
            self._encode(frame)
        self._encode(None)

    def _encode(self, frame):
        cutter = self.cutter
        for packet in self.stream.encode(frame):
            grid = packet.pts // AAC_FRAME
            if grid < self.first_frame or (self.end_frame is not None and grid >= self.end_frame):
                continue
            if packet.pts < 0:
                continue
            rate = cutter.audio_rate(self.rate)
            packet.pts = packet.dts = output_time(fractions.Fraction(packet.pts, self.rate), rate)
            packet.duration = AAC_FRAME * rate // self.rate
            packet.time_base = fractions.Fraction(1, rate)
            cutter.mux(packet, self.stream)

