"""The output clock: one timeline per file, whatever segment or process cuts it.

Timestamps keep the source's timeline, shifted by one constant per file: the first
keyframe lands at ``OUTPUT_ORIGIN`` seconds. Segments, I-frame files (trickplay.py) and
the WebVTT cues' MPEG-TS zero (playback.py) all count from here, so they line up in a player.
"""
import fractions

# Output timestamps are the source's, shifted so the first keyframe sits here (seconds).
# The margin keeps encoder-delayed DTS and audio that starts before the video positive.
OUTPUT_ORIGIN = 10
MPEG_TS_RATE = 90000
TS_TIME_BASE = fractions.Fraction(1, MPEG_TS_RATE)


def output_time(seconds_after_first_keyframe, rate=MPEG_TS_RATE):
    """The output timestamp of an instant of the source (by default MPEG-TS's 90 kHz)."""
    return int(round((seconds_after_first_keyframe + OUTPUT_ORIGIN) * rate))


class Clock:
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
