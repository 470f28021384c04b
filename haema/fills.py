"""The slow work after a scan: keyframe indexes, poster frames and seek-preview sheets.

The listing is usable as soon as the probe pass ends; these fill in what playing and
browsing want later, in the scan's own process (library.background_job), the longest
last. Each skips what exists already, so a pass after a rescan only does what is new.
"""
import logging
import os

from . import catalog, keyframe_index, probe, trickplay
from .imaging import write_jpeg
from .lazy import lazy_import
from .models import Show, Video, database

av = lazy_import("av")

log = logging.getLogger(__name__)

PROGRESS_EVERY = 100


def fill_keyframes(root):
    """Index keyframes of every video that lacks them, so pressing play never waits."""
    with database.connection_context():
        pending = list(Video.select(Video.id, Video.path).where(Video.keyframes.is_null()))
    for number, video in enumerate(pending, 1):
        try:
            keyframes = keyframe_index.read_keyframes(os.path.join(root, video.path))
        except probe.ProbeError as error:
            log.warning("no keyframes for %s: %s", video.path, error.message)
            continue
        with database.connection_context():
            store_keyframes(video.id, keyframes)
        if number % PROGRESS_EVERY == 0:
            log.info("indexed keyframes of %d/%d files", number, len(pending))


def store_keyframes(video_id, keyframes):
    """The one writer of ``Video.keyframes``: this pass, and a play request that reached
    a video first (playback.py). A rescan that finds the file changed clears them with
    the row it writes anew (library.py)."""
    Video.update(keyframes=keyframes).where(Video.id == video_id).execute()


def fill_thumbnails(root, thumbnail_dir):
    """A frame from the video as poster for shows that have none."""
    os.makedirs(thumbnail_dir, exist_ok=True)
    with database.connection_context():
        shows = list(Show.select().where(Show.thumbnail.is_null()))
    for show in shows:
        with database.connection_context():
            video = show.videos.order_by(*catalog.WATCHING_ORDER).first()
        if video is None:
            continue
        # the file, not the row, decides: each node keeps thumbnails in its own cache
        name = f"{video.id}-{video.version}.jpg"
        target = os.path.join(thumbnail_dir, name)
        if not os.path.exists(target):
            try:
                save_frame(os.path.join(root, video.path), 0.1 * video.duration, target)
            except (av.FFmpegError, OSError, probe.ProbeError) as error:
                log.warning("no thumbnail for %s: %s", video.path, error)
                continue
        if video.frame != name:
            with database.connection_context():
                Video.update(frame=name).where(Video.id == video.id).execute()


def fill_trickplay(root, trickplay_dir):
    """Seek-preview sheets of every video, the longest job, so it comes last. Sheets
    of a video being watched are made on demand meanwhile (previews.py)."""
    with database.connection_context():
        videos = list(Video.select(Video.id, Video.path, Video.size, Video.mtime, Video.info))
    made = 0
    for video in videos:
        layout = trickplay.video_layout(video.info)
        for sheet in range(layout.sheets):
            target = trickplay.sheet_path(trickplay_dir, video, sheet)
            if os.path.exists(target):
                continue
            try:
                trickplay.make_sheet(os.path.join(root, video.path), video.info, sheet, target)
            except (av.FFmpegError, OSError) as error:
                log.warning("no seek previews for %s: %s", video.path, error)
                break
            made += 1
    if made:
        log.info("made %d seek-preview sheets", made)


def save_frame(path, at_seconds, target, width=320):
    """Write one frame near ``at_seconds`` as a JPEG ``width`` pixels wide."""
    with av.open(path) as container:
        stream = container.streams.video[0]
        container.seek(int(at_seconds / stream.time_base), stream=stream)
        with probe.reading(container.decode(stream)) as frames:
            frame = next(frames, None)  # a file damaged since its scan has none
    if frame is None:
        raise probe.ProbeError(f"no frame near {at_seconds:.1f} s")
    height = max(2, round(frame.height * width / frame.width / 2) * 2)
    write_jpeg(frame.reformat(width=width, height=height, format="yuvj420p"), target)
