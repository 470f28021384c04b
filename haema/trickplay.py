"""Seek previews (trickplay): small frames every few seconds, tiled into sprite sheets.

A player shows them while the pointer moves over the progress bar. They are offered
two ways, as the players that use them expect:
- a WebVTT "thumbnails" track whose cues read ``0.jpg#xywh=x,y,w,h`` (Jellyfin, Kyoo,
  Video.js, Plyr);
- an HLS image playlist (``EXT-X-IMAGE-STREAM-INF`` in the master, ``EXT-X-TILES`` per
  sheet: Roku's convention).

The layout is planned from the duration and picture size alone, so both texts exist
before any sheet does. A sheet is made from keyframes only (the keyframe at or before
each tile's time), like Jellyfin's ``-skip_frame nokey``: one seek and one decoded
frame per tile, never a GOP decoded to reach an exact time. Sheets are made in the
background after a scan and, for a video being watched, on demand.
"""
import dataclasses
import fractions
import math
import os

from .imaging import write_jpeg
from .lazy import lazy_import
from .made import Destination, make_file
from .probe import MediaInfo, reading
from .segment.clock import MPEG_TS_RATE, output_time

av = lazy_import("av")
numpy = lazy_import("numpy")

TILE_LONG_SIDE = 240  # px: sharp enough for a 200 px preview box, small enough for a phone
COLUMNS = ROWS = 10  # tiles per sheet row and column, as Jellyfin lays them out
MOST_SECONDS = 10  # between two tiles of a long video
TILES_AT_LEAST = 50  # a short clip still gets a preview every second or so


@dataclasses.dataclass(frozen=True)
class Layout:
    """Where each preview of one video sits: tile ``n`` shows time ``n * interval`` and
    is in sheet ``n // (columns * rows)``. Every sheet has the same number of columns."""

    interval: float
    tiles: int
    tile_width: int
    tile_height: int
    columns: int
    rows: int

    @property
    def per_sheet(self):
        return self.columns * self.rows

    @property
    def sheets(self):
        return math.ceil(self.tiles / self.per_sheet)

    def place(self, tile):
        """``(sheet, x, y)`` of a tile."""
        sheet, rest = divmod(tile, self.per_sheet)
        row, column = divmod(rest, self.columns)
        return sheet, column * self.tile_width, row * self.tile_height

    def sheet_rows(self, sheet):
        """Rows a sheet needs: the last one may be short."""
        tiles = min(self.per_sheet, self.tiles - sheet * self.per_sheet)
        return math.ceil(tiles / self.columns)


def plan(duration, width, height):
    """The layout for a video of ``duration`` seconds whose picture shows at ``width``x``height``."""
    interval = max(1, min(MOST_SECONDS, math.ceil(duration / TILES_AT_LEAST)))
    tiles = max(1, math.ceil(duration / interval))
    if width >= height:
        tile_width, tile_height = TILE_LONG_SIDE, TILE_LONG_SIDE * height / max(1, width)
    else:
        tile_width, tile_height = TILE_LONG_SIDE * width / max(1, height), TILE_LONG_SIDE
    even = lambda value: max(2, int(round(value / 2)) * 2)  # noqa: E731 (the JPEG encoder's 4:2:0 wants even sizes)
    return Layout(float(interval), tiles, even(tile_width), even(tile_height), min(COLUMNS, tiles), ROWS)


def video_layout(info):
    """The layout for a probed video (``probe.MediaInfo``): its duration and upright picture."""
    video = info.video
    num, den = video.sample_aspect_ratio
    width, height = video.width * num / den, video.height
    if video.rotation % 180:
        width, height = height, width
    return plan(info.duration, width, height)


# ---------------------------------------------------------------------------
# Texts


def webvtt(layout, duration, sheet_url="{}.jpg"):
    """The thumbnails track; ``sheet_url`` formats a sheet number into its URL (relative
    to the track's own)."""
    lines = ["WEBVTT", ""]
    for tile in range(layout.tiles):
        sheet, x, y = layout.place(tile)
        start, end = tile * layout.interval, min(duration, (tile + 1) * layout.interval)
        lines += [f"{_stamp(start)} --> {_stamp(end)}",
                  f"{sheet_url.format(sheet)}#xywh={x},{y},{layout.tile_width},{layout.tile_height}", ""]
    return "\n".join(lines)


def image_playlist(layout, duration):
    """The HLS image playlist: one sheet per segment, its tiles described by EXT-X-TILES."""
    span = layout.per_sheet * layout.interval
    lines = ["#EXTM3U", "#EXT-X-VERSION:7", f"#EXT-X-TARGETDURATION:{math.ceil(span)}",
             "#EXT-X-MEDIA-SEQUENCE:0", "#EXT-X-PLAYLIST-TYPE:VOD", "#EXT-X-IMAGES-ONLY"]
    for sheet in range(layout.sheets):
        length = min(span, duration - sheet * span)
        lines += [f"#EXTINF:{length:.3f},",
                  f"#EXT-X-TILES:RESOLUTION={layout.tile_width}x{layout.tile_height},"
                  f"LAYOUT={layout.columns}x{layout.sheet_rows(sheet)},DURATION={layout.interval:.3f}",
                  f"{sheet}.jpg"]
    lines.append("#EXT-X-ENDLIST")
    return "\n".join(lines) + "\n"


def _stamp(seconds):
    milliseconds = int(round(seconds * 1000))
    hours, rest = divmod(milliseconds, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    return f"{hours:02d}:{minutes:02d}:{rest // 1000:02d}.{rest % 1000:03d}"


# ---------------------------------------------------------------------------
# Sheets


def sheet_path(trickplay_dir, video, sheet):
    """Sheets are keyed by the file version, like segments: a changed file gets new ones."""
    return os.path.join(trickplay_dir, f"{video.id}-{video.version}", f"{sheet}.jpg")


def make_sheet(path, info, sheet, target):
    """Draw sheet number ``sheet`` of the video at ``path`` and write it as JPEG to
    ``target`` (renamed into place: a reader never sees half a sheet). Returns ``target``."""
    layout = video_layout(info)
    first = sheet * layout.per_sheet
    tiles = range(first, min(layout.tiles, first + layout.per_sheet))
    canvas = numpy.zeros((layout.sheet_rows(sheet) * layout.tile_height, layout.columns * layout.tile_width, 3),
                         numpy.uint8)
    turns = (info.video.rotation % 360) // 90  # counter-clockwise quarter turns, as segment/video.py turns them
    # scaled before it is turned: a quarter turn swaps the sides
    scaled = (layout.tile_height, layout.tile_width) if turns % 2 else (layout.tile_width, layout.tile_height)
    with av.open(path, metadata_errors="ignore") as container:
        stream = _video_stream(container, info)
        stream.codec_context.skip_frame = "NONKEY"
        start = container.start_time / av.time_base if container.start_time is not None else 0.0
        last = None  # (keyframe pts, tile): tiles in one long GOP share a keyframe
        for tile in tiles:
            # None past the last keyframe a seek can reach: MPEG-TS seeks by bytes, and near
            # the end lands after it; that keyframe is the previous tile's, still the latest
            picture = _keyframe_before(container, stream, start + tile * layout.interval, last, scaled) or last
            if picture is None:
                continue
            last = picture
            _, x, y = layout.place(tile)
            canvas[y:y + layout.tile_height, x:x + layout.tile_width] = numpy.rot90(picture[1], turns)
    # ffmpeg's -q:v 8: small sheets, tiles still clean at preview size
    write_jpeg(av.VideoFrame.from_ndarray(canvas, format="rgb24").reformat(format="yuvj420p"), target, qscale=8)
    return target


def _video_stream(container, info):
    for stream in container.streams.video:
        if stream.index == info.video.index:
            return stream
    return container.streams.video[0]


def _keyframe_before(container, stream, seconds, last, size):
    """``(pts, RGB tile)`` of the keyframe at or before ``seconds``, scaled to ``size``
    (width, height), or None past the end.

    Only the keyframe is decoded, and the decoder is drained at once: it holds a picture
    back for B-frame reordering, and with the frames after it skipped (``NONKEY``) it let
    go of it only when the next keyframes came, three of them decoded per tile (1080p:
    127 → 41 ms a tile). Scaled straight from the decoded picture: made RGB at full size
    first, then scaled, it cost two 1080p conversions more per tile."""
    container.seek(int(seconds / stream.time_base), stream=stream, backward=True)
    with reading(container.demux(stream)) as packets:
        for packet in packets:
            if not packet.is_keyframe or packet.size == 0:
                continue
            if last is not None and packet.pts == last[0]:
                return last
            frames = stream.decode(packet) or stream.decode(None)
            stream.codec_context.flush_buffers()  # drained: ready for the next seek's packets
            if frames:
                width, height = size
                return frames[0].pts, frames[0].to_ndarray(width=width, height=height, format="rgb24")
    return None


# ---------------------------------------------------------------------------
# I-frames


@dataclasses.dataclass(frozen=True, kw_only=True)
class SheetJob:
    """A preview sheet, drawn in a worker (pool.py's job protocol)."""

    key: str
    path: str
    info: MediaInfo
    sheet: int
    target: str
    quick = False  # a keyframe decoded per tile: the encoders' lane

    def run(self, state, cancelled=None):
        return make_sheet(self.path, self.info, self.sheet, self.target)


@dataclasses.dataclass(frozen=True, kw_only=True)
class IFrameJob:
    """One entry of the I-frame playlist, written where ``destination`` says."""

    key: str
    destination: Destination
    path: str
    info: MediaInfo
    keyframe: int
    first_keyframe: int
    quick = True  # one keyframe copied: pool.py's quick lane

    def run(self, state, cancelled=None):
        return make_file(self.destination, ".ts",
                         lambda target: make_iframe(self.path, self.info, self.keyframe, self.first_keyframe, target))


def make_iframe(path, info, keyframe, first_keyframe, target):
    """Write to ``target`` an MPEG-TS file holding only the keyframe at ``keyframe``
    (source time base), copied untouched and stamped on the variants' own clock: an
    entry of the I-frame playlist of a copyable source."""
    with av.open(path, metadata_errors="ignore") as source:
        stream = _video_stream(source, info)
        source.seek(keyframe, stream=stream, backward=True)
        with reading(source.demux(stream)) as packets:
            packet = next((p for p in packets if p.pts is not None and p.pts >= keyframe and p.is_keyframe), None)
        if packet is None:
            raise EOFError(f"no keyframe at {keyframe} in {path}")
        with av.open(target, "w", format="mpegts", options={"mpegts_copyts": "1"}) as muxer:
            copy = muxer.add_stream_from_template(stream)
            stamp = output_time(float((keyframe - first_keyframe) * stream.time_base))
            packet.stream = copy
            packet.time_base = fractions.Fraction(1, MPEG_TS_RATE)
            packet.pts = packet.dts = stamp
            muxer.mux(packet)
