"""Playing through: sequential 720p, four players at 1x, and the soak."""
import statistics
import threading
import time

import benchmedia
from harness.players import run_players
from harness.processes import rss_mb
from harness.viewer import Client, open_video

from .baseline import FFMPEG, ffmpeg_segment
from .server import RssSampler

WAITED = 0.05  # a segment answered slower than this was made for the request, not ready


def playback(bench):
    """Fetch every 720p segment in order, as fast as they come (a player with no buffer
    goal), on the 2 s-GOP file, the 10 s-GOP one and the test pattern; ffmpeg per
    segment likewise."""
    for key, media, source in (("playback_720p", "sequential", "playback"),
                               ("playback_720p_gop10", "sequential longgop", "longgop"),
                               ("playback_720p_testsrc2", "sequential testsrc2", "testsrc2")):
        bench.server.wait_idle()
        client = Client(bench.server.port)
        stream, _ = open_video(client, bench.id_of(bench.media[media]), "720p_h264")
        sampler = RssSampler(bench.server)
        sampler.start()
        times = []
        started = time.perf_counter()
        for index in range(len(stream)):
            times.append(stream.fetch(client, index))
        wall = time.perf_counter() - started
        sampler.stop()
        client.close()
        bench.results.set(key + "_realtime", stream.duration / wall,
                          f"{stream.duration:.0f} s of video in {wall:.1f} s")
        if key == "playback_720p":
            bench.results.set("playback_720p_waited", 100.0 * sum(t > WAITED for t in times) / len(times))
            bench.results.set("playback_720p_wait_p50", statistics.median(times))
            bench.results.set("rss_worker_busy", sampler.worker_max)
            bench.results.set("rss_server_busy", sampler.server_max)
        if FFMPEG:
            started = time.perf_counter()
            for index in range(len(stream)):
                ffmpeg_segment(bench.media["sources"][source], stream.starts[index], stream.durations[index],
                               "720p_h264", bench.work)
            base = stream.duration / (time.perf_counter() - started)
            bench.results.set(key + "_ffmpeg_realtime", base)
            bench.results.set(key + "_vs_ffmpeg", (stream.duration / wall) / base)
    for suffix in ("", "_testsrc2"):
        decode, encode = (bench.results.values[k + suffix] for k in ("machine_decode_1080p", "machine_encode_720p"))
        bench.results.set(f"playback_720p{suffix}_codec_bound", 1 / (1 / decode + 1 / encode) / benchmedia.FPS,
                          "if decoding and encoding each frame took turns")


def players(bench):
    bench.server.wait_idle()
    runs = run_players(bench.server.port, [bench.id_of(p) for p in bench.media["players"]], "480p_h264",
                       bench.p["players_seconds"], loop=False)
    bench.results.set("players4_480p_slowest", min(r.greedy_rate() for r in runs),
                      "; ".join(f"{r.greedy_rate():.2f}×" for r in runs))
    bench.results.set("players4_480p_stalls", sum(r.stalls for r in runs),
                      f"{sum(r.stall_seconds for r in runs):.1f} s stalled")


def soak(bench):
    seconds = bench.p["soak_seconds"]
    if not seconds:
        bench.results.skip(["soak_rss_growth", "soak_stalls"], "full run only")
        return
    bench.server.wait_idle()
    samples = []
    halt = threading.Event()

    def sample():
        start = time.monotonic()
        while not halt.wait(10):
            total = sum(rss_mb(pid) or 0 for pid in bench.server.pids())
            samples.append((time.monotonic() - start, total))
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    runs = run_players(bench.server.port, [bench.id_of(p) for p in bench.media["players"]], "480p_h264",
                       seconds, loop=True)
    halt.set()
    sampler.join()
    early = [mb for t, mb in samples if 60 <= t < 120] or [samples[0][1]]
    late = [mb for t, mb in samples if t >= seconds - 60] or [samples[-1][1]]
    bench.results.set("soak_rss_growth", statistics.mean(late) - statistics.mean(early),
                      f"{statistics.mean(early):.0f} MB in minute 2 → {statistics.mean(late):.0f} MB in the last")
    bench.results.set("soak_stalls", sum(r.stalls for r in runs))
