"""The library scan and the keyframe index of a long file."""
import statistics
import time

import av

from haema import keyframe_index
from harness.processes import rss_mb
from harness.viewer import open_video


def scan(bench):
    seconds, seen, report = bench.server.scan()
    bench.log(f"  scanned {report['files']} files ({report['added']} added, {len(report['skipped'])} skipped)"
              f" in {seconds:.2f} s")
    if report["files"] != bench.media["files"] or report["skipped"]:
        raise RuntimeError(f"unexpected scan report: {report}")
    bench.results.set("scan_cold", seconds, f"{report['files']} files; client saw it end after {seen:.2f} s; "
                                            f"{bench.server.hung} status requests hung")
    started = time.perf_counter()
    bench.server.wait_background()
    bench.results.set("scan_background", time.perf_counter() - started)
    hung = bench.server.hung
    seconds, seen, report = bench.server.scan()
    bench.results.set("scan_rescan", seconds, f"client saw it end after {seen:.2f} s; "
                                              f"{bench.server.hung - hung} status requests hung")
    bench.server.wait_background()
    bench.ids = bench.video_ids()
    bench.results.set("rss_idle", rss_mb(bench.server.process.pid))


def long_file(bench):
    reps = max(1, bench.p["reps"])
    minutes = bench.media["facts"]["feature_minutes"]
    for kind in ("mp4", "mkv"):
        path = bench.media["feature_sources"][kind]
        times = []
        for _ in range(reps):
            started = time.perf_counter()
            keyframes = keyframe_index.read_keyframes(path)
            times.append(time.perf_counter() - started)
        index = statistics.median(times)
        bench.results.set(f"long_index_{kind}", index, f"{minutes:g} min, {len(keyframes.pts)} keyframes")
        bench.server.wait_idle()
        video_id = bench.id_of(bench.media[f"feature_{kind}"])
        _, playlist = open_video(bench.client, video_id, "original")
        bench.results.set(f"long_playlist_{kind}", playlist)
        bench.results.set(f"long_index_playlist_{kind}", index + playlist)
        stream, _ = open_video(bench.client, video_id, "original")
        bench.results.set(f"first_segment_long_{kind}", playlist + stream.fetch(bench.client, 0),
                          "master + media playlist + segment 0, the file never opened by a worker")
        started = time.perf_counter()
        with av.open(path) as container:
            scan = keyframe_index._scan_packets(container, container.streams.video[0])
        bench.results.set(f"long_scan_packets_{kind}", time.perf_counter() - started,
                          f"{len(scan.keyframes)} keyframes")
