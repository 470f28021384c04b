"""Pictures (posters, banners, frames) scaled down for a client that asks for a size.

A TV asks for a 300 px wide poster where the folder has a 2000 px one: sent as it is, a
home page of 30 posters would be 30 MB. The picture is scaled in an encoder worker
(``ScaleJob``, pool.py's job protocol), as the web process never decodes (lazy.py), by
PyAV's own decoder, swscale and MJPEG encoder, so no imaging library is added. The
worker writes a JPEG into the cache, named after the source file's path, size and time
and the size asked for, so each size of each picture is made once.

``Fit`` and its ``size`` are the pure part: what size a request's bounds give a picture.
"""
import dataclasses
import fractions
import hashlib
import os

from .lazy import lazy_import

av = lazy_import("av")

LARGEST_SIDE = 4096  # px a client may ask for: enough for a 4K backdrop


@dataclasses.dataclass(frozen=True)
class Fit:
    """The bounds a client gave (None: not given), in pixels.

    ``width``/``height``: this size (one alone keeps the aspect); ``max_*``: at most this;
    ``fill_*``: the smallest size that still covers this box, so the client can crop to it.
    A picture is never made larger than it is: the client's own scaling does that as well.
    """

    width: int = None
    height: int = None
    max_width: int = None
    max_height: int = None
    fill_width: int = None
    fill_height: int = None

    @property
    def asks(self):
        return any(value for value in dataclasses.astuple(self))

    def size(self, width, height):
        """``(width, height)`` of a ``width`` x ``height`` picture within these bounds, made even
        (JPEG's 4:2:0 halves both) by rounding down, and at least 2."""
        w, h = float(width), float(height)
        if self.width and self.height:
            w, h = self.width, self.height
        elif self.height:
            w, h = w * self.height / h, self.height
        elif self.width:
            w, h = self.width, h * self.width / w
        if self.max_height and h > self.max_height:
            w, h = w * self.max_height / h, self.max_height
        if self.max_width and w > self.max_width:
            w, h = self.max_width, h * self.max_width / w
        if self.fill_width or self.fill_height:
            scale = max((self.fill_width or 0) / w, (self.fill_height or 0) / h)
            w, h = w * scale, h * scale
        shrink = min(1.0, width / w, height / h)  # never larger than the picture
        return _even(w * shrink), _even(h * shrink)


def _even(value):
    return max(2, int(value / 2) * 2)  # down: a maximum is kept


def jpeg_quality(quality):
    """FFmpeg's MJPEG scale (2 best … 31 worst) for a client's ``quality`` (1-100, 90 by default)."""
    return max(2, min(31, round((100 - quality) * 29 / 100) + 2))


def cached_name(source, fit, quality):
    """The cache file's name: a changed source (size, time) or another size is another file."""
    stat = os.stat(source)
    key = f"{os.path.realpath(source)}|{stat.st_size}|{stat.st_mtime_ns}|{dataclasses.astuple(fit)}|{quality}"
    digest = hashlib.sha256(key.encode()).hexdigest()
    return os.path.join(digest[:2], f"{digest}.jpg")


@dataclasses.dataclass(frozen=True, kw_only=True)
class ScaleJob:
    """``source`` scaled within ``fit`` into ``target`` as JPEG; the result is ``target``,
    or None for a file that is no picture PyAV can read (the caller sends it as it is)."""

    key: str
    source: str
    target: str
    fit: Fit
    quality: int = 90
    quick = False  # a picture decoded, scaled and encoded: the encoders' lane

    def run(self, state, cancelled=None):
        return scale(self.source, self.target, self.fit, self.quality)


def scale(source, target, fit, quality):
    try:
        with av.open(source, metadata_errors="ignore") as container:
            picture = next(container.decode(video=0))
    except (av.FFmpegError, StopIteration, IndexError):
        return None
    width, height = fit.size(picture.width, picture.height)
    # straight from the decoded format to the JPEG's, scaled by swscale's area filter in one pass
    write_jpeg(picture.reformat(width=width, height=height, format="yuvj420p", interpolation="AREA"), target,
               qscale=jpeg_quality(quality))
    return target


def write_jpeg(picture, target, qscale=None):
    """Write a ``yuvj420p`` frame to ``target`` as a JPEG (MJPEG is a JPEG per frame), the
    one writer of posters scaled here, poster frames (fills.py) and preview sheets
    (trickplay.py). Through a temporary file, so a reader never sees half a picture.
    ``qscale`` is FFmpeg's ``-q:v`` (2 best … 31 worst); None keeps the encoder's default."""
    encoder = av.CodecContext.create("mjpeg", "w")
    encoder.width, encoder.height, encoder.pix_fmt = picture.width, picture.height, "yuvj420p"
    encoder.time_base = fractions.Fraction(1, 25)
    if qscale is not None:
        encoder.qmin = encoder.qmax = qscale
    data = b"".join(bytes(packet) for packet in encoder.encode(picture) + encoder.encode(None))
    os.makedirs(os.path.dirname(target), exist_ok=True)
    pending = f"{target}.{os.getpid()}.tmp"
    with open(pending, "wb") as out:
        out.write(data)
    os.replace(pending, target)


def bounds(value):
    """A client's size parameter: a whole number of pixels up to ``LARGEST_SIDE``, else None."""
    try:
        number = int(float(value))
    except (TypeError, ValueError, OverflowError):  # "x", "inf"
        return None
    return min(number, LARGEST_SIDE) if number > 0 else None
