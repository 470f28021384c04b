"""Video outputs of a segment: packets copied, or frames decoded and encoded to H.264."""
import collections
import concurrent.futures
import fractions
import functools
import logging

from .. import hls
from ..lazy import lazy_import
from ..probe import frame_duration
from .clock import MPEG_TS_RATE, TS_TIME_BASE, Clock
from .state import VideoCarry

av = lazy_import("av")

log = logging.getLogger(__name__)

ENCODE_AHEAD = 4  # frames handed to the encoder thread and not yet encoded, at most
# Up to 1080p the source is decoded on one thread: the encoder, on one thread of its own
# (byte-identical remakes), is the slower of the two there, and each further decoder
# thread only holds frames of its own (17 MB at 1080p). Bigger pictures use every core.
ONE_DECODER_THREAD_PIXELS = 1920 * 1088


class VideoOpening:
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
        decode = Clock(clock.scale, clock.offset - max(self.delay, reorder * time_base) * MPEG_TS_RATE)
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
        self.feeding = True
        for frame in carry.frames:
            self._frame(frame)
        for packet in carry.packets:
            self.feed(packet)

    def carry(self):
        return VideoCarry(frames=self.leftover_frames, packets=self.leftover_packets)

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
