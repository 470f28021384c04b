"""Seek previews of a video: its thumbnails track, its image playlist and its sprite
sheets, the sheets made on demand in the encoder pool when the background pass after
the scan has not reached the video yet."""
import os

from . import catalog, trickplay
from .errors import not_found


class Previews:
    def __init__(self, root, trickplay_dir, pool):
        self.root = os.path.realpath(root)
        self.trickplay_dir = trickplay_dir
        self.pool = pool

    def thumbnails(self, video_id):
        """``(video, WebVTT text)``: sheets are named relative to the track's own URL."""
        video = catalog.get_video(video_id)
        return video, trickplay.webvtt(trickplay.video_layout(video.info), video.duration)

    def image_playlist(self, video_id):
        video = catalog.get_video(video_id)
        return video, trickplay.image_playlist(trickplay.video_layout(video.info), video.duration)

    def sheet(self, video_id, number):
        """The sheet's path relative to ``trickplay_dir``, made first if need be."""
        video = catalog.get_video(video_id)
        if not 0 <= number < trickplay.video_layout(video.info).sheets:
            raise not_found("preview sheet")
        target = trickplay.sheet_path(self.trickplay_dir, video, number)
        if not os.path.exists(target):
            source = os.path.join(self.root, video.path)
            # pinned apart from the video: on another worker where there is one, a sheet
            # neither waits for the video's segments nor holds them up or cancels their prefetch
            self.pool.run(f"previews/{video_id}", trickplay.SheetJob(
                key=f"trickplay/{video.id}/{number}", path=source, info=video.info, sheet=number, target=target))
        return os.path.relpath(target, self.trickplay_dir)
