"""Audio outputs of a segment: packets copied, or any audio encoded to AAC on a fixed grid."""
import fractions
import math

from .. import hls
from ..lazy import lazy_import
from .clock import output_time

av = lazy_import("av")

AAC_FRAME = 1024
SAMPLE_BYTES = 4  # decoded audio is resampled to planar 32-bit float (fltp)
AAC_RATES = {8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000, 64000, 88200, 96000}
AUDIO_WARMUP_FRAMES = 8  # AAC frames encoded before a segment start and dropped


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
