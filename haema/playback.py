"""Playback: playlists and segments of a video, from the plan, the cache or a worker.

This is the one service between the routes and the media code: it finds the video,
plans its variants and timeline (pure functions in hls.py, memoised per file version),
and gets segments from the disk cache or the encoder pool, asking the pinned worker to
prefetch the next ones.
"""
import functools
import logging
import os

from . import catalog, hls, probe, subtitles, transcode, trickplay
from .cache import SegmentCache
from .errors import HaemaError, not_found
from .models import Video
from .pool import Pool

log = logging.getLogger(__name__)


class Playback:
    def __init__(self, config):
        self.config = config
        self.root = os.path.realpath(config.target_path)
        self.pool = Pool(config.workers, prefetch=config.prefetch)
        self.cache = SegmentCache(os.path.join(config.cache_path, "segments"), config.cache_limit, config.cache)
        self.settings = {"encoder": config.encoder, "x264_preset": config.x264_preset, "x264_crf": config.x264_crf}

    def close(self):
        self.pool.close()

    # -- playlists --------------------------------------------------------------

    def master(self, video_id):
        plan = self._plan(video_id)
        return plan.video, hls.master_playlist(plan.variants, plan.audio, plan.subtitles, iframes=plan.iframes,
                                               images=trickplay.video_layout(plan.video.info))

    def media(self, video_id, name):
        plan = self._plan(video_id)
        rendition = plan.rendition(name)
        if isinstance(rendition, hls.SubtitleRendition):
            return plan.video, hls.subtitle_playlist(plan.timeline)
        return plan.video, hls.media_playlist(plan.timeline, rendition)

    # -- segments ---------------------------------------------------------------

    def subtitles(self, video_id, name):
        """The whole WebVTT file of a subtitle rendition (made in a worker: an embedded
        track means reading the whole file)."""
        plan = self._plan(video_id)
        track = plan.rendition(name)
        if not isinstance(track, hls.SubtitleRendition):
            raise not_found("subtitles")
        key = f"{plan.video.id}/{plan.video.version}/{name}/0.vtt"
        data = self.cache.get(key)
        if data is None:
            path = os.path.join(self.root, track.sidecar) if track.sidecar else plan.path
            # embedded cues share the video's clock; a sidecar's zero is the file's start
            start = 0 if track.sidecar is None else plan.video.info["start_time"]
            zero = transcode.output_time(plan.timeline.seconds(0) + start)
            text = self.pool.run(video_id, (key, subtitles.webvtt, (path, track.stream_index, zero)))
            data = text.encode()
            self.cache.put(key, data)
        return plan.video, data

    def segment(self, video_id, variant_name, index):
        plan = self._plan(video_id)
        variant = plan.rendition(variant_name)
        if isinstance(variant, hls.SubtitleRendition):
            raise not_found("segment")
        try:
            hls.segment(plan.timeline, variant, index)
        except IndexError:
            raise not_found("segment") from None
        key = self._key(plan, variant, index)
        data = self.cache.get(key)
        if data is None:
            count = len(hls.boundaries(plan.timeline, variant)) - 1
            ahead = [self._call(plan, variant, i) for i in range(index + 1, min(count, index + 1 + self.config.prefetch))
                     if self._key(plan, variant, i) not in self.cache]
            data = self.pool.run(video_id, self._call(plan, variant, index), ahead=ahead)
            self.cache.put(key, data)
        return plan.video, data

    def iframe_playlist(self, video_id, name):
        plan = self._plan(video_id)
        if plan.iframes is None or plan.iframes.name != name:
            raise not_found("I-frame playlist")
        return plan.video, hls.iframe_playlist(plan.timeline)

    def iframe(self, video_id, name, index):
        """One keyframe of a copyable source, copied into a TS file of its own."""
        plan = self._plan(video_id)
        keyframes = plan.timeline.keyframes
        if plan.iframes is None or plan.iframes.name != name or not 0 <= index < len(keyframes):
            raise not_found("I-frame")
        key = f"{plan.video.id}/{plan.video.version}/{name}/iframes/{index}.ts"
        data = self.cache.get(key)
        if data is None:
            data = self.pool.run(video_id, (key, trickplay.make_iframe,
                                            (plan.path, plan.video.info, keyframes[index], keyframes[0])))
            self.cache.put(key, data)
        return plan.video, data

    def _call(self, plan, rendition, index):
        segment = hls.segment(plan.timeline, rendition, index)
        if isinstance(rendition, hls.AudioRendition):
            job = transcode.Job(plan.path, plan.video.info, plan.video.keyframes, None, segment, self.settings,
                                rendition.stream_index)
        else:
            job = transcode.Job(plan.path, plan.video.info, plan.video.keyframes, rendition, segment, self.settings,
                                hls.muxed_audio(plan.video.info))
        return self._key(plan, rendition, index), transcode.make_segment, (job,)

    @staticmethod
    def _key(plan, variant, index):
        return f"{plan.video.id}/{plan.video.version}/{variant.name}/{index}.ts"

    # -- planning ---------------------------------------------------------------

    def _plan(self, video_id):
        video = catalog.get_video(video_id)
        path = os.path.join(self.root, video.path)
        if not os.path.isfile(path):
            raise HaemaError("the video file is missing; rescan the library", 404)
        if video.keyframes is None:  # the background pass has not reached it yet
            video.keyframes = self.pool.run(video_id, (f"keyframes/{video.id}", probe.read_keyframes, (path,)))
            Video.update(keyframes=video.keyframes).where(Video.id == video.id).execute()
        return _plan(video.id, video.version, path, video, self.config)


class Plan:
    """What can be played of one file version: variants and renditions on one timeline."""

    def __init__(self, video, path, timeline, variants, audio, subtitles):
        self.video, self.path, self.timeline = video, path, timeline
        self.variants, self.audio, self.subtitles = variants, audio, subtitles
        # keyframes copied one by one: only a copyable source has them to copy
        self.iframes = next((v for v in variants if v.copy), None)

    def rendition(self, name):
        for rendition in (*self.variants, *self.audio, *self.subtitles):
            if rendition.name == name:
                return rendition
        raise not_found("variant")


@functools.lru_cache(maxsize=256)
def _plan(video_id, version, path, video, config):
    """Memoised per file version: a playlist or segment request plans nothing."""
    info = video.info
    fps = info["video"]["fps"]
    time_base = info["video"]["time_base"]
    frame = round(time_base[1] / (fps * time_base[0])) if fps else None
    timeline = hls.plan_timeline(video.keyframes, config.segment_duration, config.transcode_segment_duration,
                                 frame_duration=frame)
    return Plan(video, path, timeline, hls.plan_variants(info, config.max_height), hls.plan_audio(info),
                hls.plan_subtitles(info))
