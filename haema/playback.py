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
            if track.sidecar:
                source = subtitles.SidecarFile(os.path.join(self.root, track.sidecar), track.language,
                                               track.encoding, plan.video.info["video"]["fps"])
            else:
                source = subtitles.EmbeddedTrack(plan.path, track.stream_index)
            # embedded cues share the video's clock; a sidecar's zero is the file's start
            start = 0 if track.sidecar is None else plan.video.info["start_time"]
            zero = transcode.output_time(plan.timeline.seconds(0) + start)
            text = self.pool.run(video_id, (key, subtitles.webvtt, (source, zero)))
            data = text.encode()
            self.cache.put(key, data)
        return plan.video, data

    def init_section(self, video_id, name):
        """The fMP4 init section (``#EXT-X-MAP``) of a variant or audio rendition."""
        plan = self._plan(video_id)
        rendition = plan.rendition(name)
        if isinstance(rendition, hls.SubtitleRendition) or rendition.container != "mp4":
            raise not_found("init section")
        key = f"{plan.video.id}/{plan.video.version}/{name}/init.mp4"
        data = self.cache.get(key)
        if data is None:
            job = self._job(plan, rendition, 0, init=True)
            data = self.pool.run(video_id, (key, transcode.make_segment, (job,)))
            self.cache.put(key, data)
        return plan.video, data

    def segment(self, video_id, variant_name, name):
        """Segment ``name`` ("3.ts", "3.m4s") of a variant or audio rendition."""
        plan = self._plan(video_id)
        variant = plan.rendition(variant_name)
        if isinstance(variant, hls.SubtitleRendition):
            raise not_found("segment")
        index = int(name.split(".")[0])
        try:
            hls.segment(plan.timeline, variant, index)
        except IndexError:
            raise not_found("segment") from None
        if hls.segment_name(variant, index) != name:  # a .ts of an fMP4 rendition, or the reverse
            raise not_found("segment")
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
        return self._key(plan, rendition, index), transcode.make_segment, (self._job(plan, rendition, index),)

    def _job(self, plan, rendition, index, init=False):
        segment = hls.segment(plan.timeline, rendition, index)
        if isinstance(rendition, hls.AudioRendition):
            return transcode.Job(plan.path, plan.video.info, plan.video.keyframes, None, segment, self.settings,
                                 rendition.stream_index, rendition.container, copy_audio=rendition.original, init=init)
        return transcode.Job(plan.path, plan.video.info, plan.video.keyframes, rendition, segment, self.settings,
                             hls.muxed_audio(plan.video.info), rendition.container, init=init)

    @staticmethod
    def _key(plan, rendition, index):
        return f"{plan.video.id}/{plan.video.version}/{rendition.name}/{hls.segment_name(rendition, index)}"

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
        # keyframes copied one by one into MPEG-TS: an H.264 copy has them (an fMP4 copy's
        # would need fMP4 I-frame segments, which are not made)
        self.iframes = next((v for v in variants if v.copy and v.container == "mpegts"), None)

    def rendition(self, name):
        for rendition in (*self.variants, *self.audio, *self.subtitles):
            if rendition.name == name:
                return rendition
        raise not_found("variant")


@functools.lru_cache(maxsize=256)
def _plan(video_id, version, path, video, config):
    """Memoised per file version: a playlist or segment request plans nothing."""
    info = video.info
    timeline = hls.plan_timeline(video.keyframes, config.segment_duration, config.transcode_segment_duration,
                                 frame_duration=hls.frame_step(info))
    return Plan(video, path, timeline, hls.plan_variants(info, config.max_height), hls.plan_audio(info),
                hls.plan_subtitles(info))
