"""Playback: playlists and segments of a video, from the plan, the cache or a worker.

This is the one service between the routes and the media code: it finds the video,
plans its variants and timeline (pure functions in hls.py, memoised per file version),
and gets segments from the disk cache or the encoder pool, asking the pinned worker to
prefetch the next transcoded ones.
"""
import functools
import logging
import os

import peewee

from . import catalog, fills, hls, keyframe_index, playlists, storage, subtitles, trickplay
from .cache import SegmentStore
from .errors import HaemaError, not_found
from .pool import Pool
from .segment.clock import output_time
from .segment.jobs import EncoderSettings, OpenJob, segment_job
from .segment.state import WorkerState

log = logging.getLogger(__name__)


class Playback:
    def __init__(self, config):
        self.config = config
        self.root = os.path.realpath(config.target_path)
        self.store = SegmentStore(os.path.join(config.cache_path, "segments"), config.cache_limit, config.cache)
        self.pool = Pool(config.workers, quick=config.copy_workers, prefetch=config.prefetch, job_timeout=config.job_timeout,
                         state=WorkerState, on_lost=self.store.remove_pending)
        self.settings = EncoderSettings(encoder=config.encoder, x264_preset=config.x264_preset, x264_crf=config.x264_crf)
        self._unstored = {}  # (video id, version) → keyframes the database refused, not made twice

    def close(self):
        self.pool.close()
        self.store.close()

    # -- playlists --------------------------------------------------------------

    def master(self, video_id):
        plan = self._plan(video_id)
        self._warm_first_segment(video_id, plan)
        return plan.video, playlists.master_playlist(plan.variants, plan.audio, plan.subtitles, iframes=plan.iframes,
                                               images=trickplay.video_layout(plan.video.info))

    def media(self, video_id, name):
        plan = self._plan(video_id)
        rendition = plan.rendition(name)
        if isinstance(rendition, hls.SubtitleRendition):
            return plan.video, playlists.subtitle_playlist(plan.timeline)
        return plan.video, playlists.media_playlist(plan.timeline, rendition)

    # -- segments ---------------------------------------------------------------

    def subtitles(self, video_id, name):
        """The whole WebVTT file of a subtitle rendition (made in a worker: an embedded
        track means reading the whole file)."""
        plan = self._plan(video_id)
        track = plan.rendition(name)
        if not isinstance(track, hls.SubtitleRendition):
            raise not_found("subtitles")
        key = self.store.key(plan.video, name, "0.vtt")
        opened = self.store.open(key)
        if opened is None:
            if track.sidecar:
                source = subtitles.SidecarFile(os.path.join(self.root, track.sidecar), track.language,
                                               track.encoding, plan.video.info.video.fps)
            else:
                source = subtitles.EmbeddedTrack(plan.path, track.stream_index)
            # embedded cues share the video's clock; a sidecar's zero is the file's start
            start = 0 if track.sidecar is None else plan.video.info.start_time
            zero = output_time(plan.timeline.seconds(0) + start)
            job = subtitles.WebVTTJob(key=key, destination=self.store.destination(key), source=source, mpegts_zero=zero)
            opened = self.store.take(key, self.pool.run(video_id, job))
        return plan.video, opened

    def init_section(self, video_id, name):
        """The fMP4 init section (``#EXT-X-MAP``) of a variant or audio rendition, as an open file."""
        plan = self._plan(video_id)
        rendition = plan.rendition(name)
        if isinstance(rendition, hls.SubtitleRendition) or rendition.container != "mp4":
            raise not_found("init section")
        key = self.store.key(plan.video, name, "init.mp4")
        opened = self.store.open(key)
        if opened is None:
            opened = self.store.take(key, self.pool.run(video_id, self._job(plan, rendition, 0, init=True)))
        return plan.video, opened

    def segment(self, video_id, variant_name, name):
        """Segment ``name`` ("3.ts", "3.m4s") of a variant or audio rendition, as an open
        file: from the cache, else made by the pinned worker (which then makes the next
        ones ahead). An open file stays readable if the cache evicts it meanwhile."""
        plan = self._plan(video_id)
        variant = plan.rendition(variant_name)
        if isinstance(variant, hls.SubtitleRendition):
            raise not_found("segment")
        index = int(name.split(".")[0])
        try:
            hls.segment(plan.timeline, variant, index)
        except IndexError:
            raise not_found("segment") from None
        if playlists.segment_name(variant, index) != name:  # a .ts of an fMP4 rendition, or the reverse
            raise not_found("segment")
        key = self._key(plan, variant, index)
        opened = self.store.open(key)
        if opened is None:
            job = self._job(plan, variant, index)
            try:
                made = self.pool.run(video_id, job, ahead=self._ahead(plan, variant, index, job))
            except HaemaError as error:
                if error.status >= 500:  # the file deleted or replaced under the worker is the client's 404/410
                    _check_unchanged(plan.video, plan.path)
                raise
            opened = self.store.take(key, made)
        return plan.video, opened

    def _ahead(self, plan, variant, index, job):
        """The segments after ``index`` for the worker to make next, unless cached.

        Nothing for a quick job: a copy takes milliseconds, so making it ahead saves its
        viewer nothing, and the many viewers of copies share one quick worker, where each
        request pre-empted the prefetch for the one before and most segments made ahead
        were dropped unasked (48 MB of them kept for 40 players). In a 6-minute soak of
        40 copy players the quick worker used 94 s of CPU with them, 45 s without."""
        if job.quick:
            return []
        count = len(hls.boundaries(plan.timeline, variant)) - 1
        return [self._job(plan, variant, i) for i in range(index + 1, min(count, index + 1 + self.config.prefetch))
                if self._key(plan, variant, i) not in self.store]

    def iframe_playlist(self, video_id, name):
        plan = self._plan(video_id)
        if plan.iframes is None or plan.iframes.name != name:
            raise not_found("I-frame playlist")
        return plan.video, playlists.iframe_playlist(plan.timeline)

    def iframe(self, video_id, name, index):
        """One keyframe of a copyable source, copied into a TS file of its own."""
        plan = self._plan(video_id)
        keyframes = plan.timeline.keyframes
        if plan.iframes is None or plan.iframes.name != name or not 0 <= index < len(keyframes):
            raise not_found("I-frame")
        key = self.store.key(plan.video, name, f"iframes/{index}.ts")
        opened = self.store.open(key)
        if opened is None:
            job = trickplay.IFrameJob(key=key, destination=self.store.destination(key), path=plan.path,
                                      info=plan.video.info, keyframe=keyframes[index], first_keyframe=keyframes[0])
            opened = self.store.take(key, self.pool.run(video_id, job))
        return plan.video, opened

    def _warm_first_segment(self, video_id, plan):
        """Have the quick worker open the file and make the copy's first segment while
        the player reads the playlists, unless it is cached. (With the cache off there is
        nowhere to keep it, and a transcode opens its file afresh anyway.)"""
        copy = next((v for v in plan.variants if v.copy), None)
        if copy is None or not self.store.caching or self._key(plan, copy, 0) in self.store:
            return
        opening = OpenJob(key=f"open/{plan.video.id}/{plan.video.version}", path=plan.path, info=plan.video.info)
        first = [self._job(plan, copy, 0)]
        if copy.container == "mp4":
            first.insert(0, self._job(plan, copy, 0, init=True))
        self.pool.warm(video_id, opening, ahead=first)

    def _job(self, plan, rendition, index, init=False):
        key = self.store.key(plan.video, rendition.name, "init.mp4") if init else self._key(plan, rendition, index)
        return segment_job(rendition, index, key=key, destination=self.store.destination(key), path=plan.path,
                           info=plan.video.info, keyframes=plan.video.keyframes, timeline=plan.timeline,
                           settings=self.settings, init=init)

    def _key(self, plan, rendition, index):
        return self.store.key(plan.video, rendition.name, playlists.segment_name(rendition, index))

    # -- planning ---------------------------------------------------------------

    def _plan(self, video_id):
        video = catalog.get_video(video_id)
        path = os.path.join(self.root, video.path)
        _check_unchanged(video, path)
        if video.keyframes is None:  # the background pass has not reached it yet
            video.keyframes = self._unstored.get((video.id, video.version))
        if video.keyframes is None:
            video.keyframes = self.pool.run(video_id, keyframe_index.KeyframesJob(key=f"keyframes/{video.id}", path=path))
            try:
                fills.store_keyframes(video.id, video.keyframes)
            except peewee.OperationalError as error:  # a read-only disk: played all the same
                self._unstored[video.id, video.version] = video.keyframes
                log.warning("keyframes of %s not stored: %s", video.path, storage.refused(error).message)
        return _plan(video.id, video.version, path, video, self.config)


def _check_unchanged(video, path):
    """A file deleted since the scan is a 404; one replaced (another size or time) is a
    410, as its plan and cache keys belong to the old version. A rescan sets both right."""
    try:
        stat = os.stat(path)
    except OSError:
        raise HaemaError("the video file is missing; rescan the library", 404) from None
    if stat.st_size != video.size or int(stat.st_mtime * 1000) != int(video.mtime * 1000):
        raise HaemaError("the video file changed since the last scan; rescan the library", 410)


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
