"""What a viewer waits for: the first segment, and cold seeks, against ffmpeg on the same interval."""
import statistics
import time

from harness.viewer import Stream, open_video

from .baseline import FFMPEG, ffmpeg_segment
from .figures import FIGURE_KEYS, spread


def first_segment(bench):
    """Each first segment, then ffmpeg's on the same interval once the server is idle
    again: alternating, so a change in the shared machine's speed touches both alike."""
    for variant, key, paths in (("original", "first_segment_copy", bench.media["first copy"]),
                                ("720p_h264", "first_segment_720p", bench.media["first 720p"])):
        times, base = [], []
        for relpath in paths:
            bench.server.wait_idle()
            started = time.perf_counter()
            stream, _ = open_video(bench.client, bench.id_of(relpath), variant)
            stream.fetch(bench.client, 0)
            times.append(time.perf_counter() - started)
            if FFMPEG:
                bench.server.wait_idle()  # the worker makes the next segments ahead meanwhile
                base.append(ffmpeg_segment(bench.media["sources"]["playback"], 0, stream.durations[0], variant,
                                           bench.work))
        bench.results.set(key, statistics.median(times), spread(times))
        if FFMPEG:
            bench.results.set(key + "_ffmpeg", statistics.median(base), spread(base))


def seeks(bench):
    """Cold seeks, each followed by ffmpeg on the same interval (as for the first segment)."""
    reps = bench.p["reps"]
    playback = bench.id_of(bench.media["seek"])
    longgop = bench.id_of(bench.media["longgop"])
    for variant, key, video_id, source, pick in (
            ("original", "seek_copy", playback, "playback", _middle),
            ("720p_h264", "seek_720p", playback, "playback", _middle),
            ("720p_h264", "seek_720p_gop10", longgop, "longgop", _last_pieces(bench, longgop))):
        stream, _ = open_video(bench.client, video_id, variant)
        indexes = pick(stream, reps)
        times, base = [], []
        for index in indexes:  # backwards, so no segment was prefetched by the one before
            bench.server.wait_idle()
            times.append(stream.fetch(bench.client, index))
            if FFMPEG:
                bench.server.wait_idle()
                base.append(ffmpeg_segment(bench.media["sources"][source], stream.starts[index],
                                           stream.durations[index], variant, bench.work))
        bench.results.set(key, statistics.median(times), spread(times) + f"; segments {indexes}")
        if FFMPEG:
            bench.results.set(key + "_ffmpeg", statistics.median(base), spread(base))
            if key + "_vs_ffmpeg" in FIGURE_KEYS:
                bench.results.set(key + "_vs_ffmpeg", statistics.median(times) / statistics.median(base))
    # a seek while the worker is making segments ahead of the player
    bench.server.wait_idle()
    stream, _ = open_video(bench.client, bench.id_of(bench.media["prefetch seek"]), "720p_h264")
    stream.fetch(bench.client, 0)
    bench.results.set("seek_720p_while_prefetching", stream.fetch(bench.client, len(stream) // 2))


def _last_pieces(bench, video_id):
    """The transcoded pieces that start furthest after their keyframe (most to decode and drop)."""
    copy = Stream(bench.client, f"/api/v1/video/{video_id}/original")

    def pick(stream, reps):
        keyframes = copy.starts
        lag = [(start - max(k for k in keyframes if k <= start + 1e-6), i) for i, start in enumerate(stream.starts)]
        worst = max(l for l, _ in lag)
        candidates = [i for l, i in lag if l > worst - 0.05]
        middle = [i for i in candidates if 0 < i < len(stream) - 1] or candidates
        middle.sort(key=lambda i: abs(i - len(stream) / 2))
        return sorted(middle[:reps], reverse=True)
    return pick


def _middle(stream, reps):
    middle = len(stream) // 2
    indexes = [i for i in range(middle + reps // 2, -1, -1)][:reps]
    return sorted(set(indexes), reverse=True)
