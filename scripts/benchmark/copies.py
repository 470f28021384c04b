"""Copy segments against what they cannot go below: PyAV moving the same packets."""
import os
import statistics
import time

import av

from harness.viewer import open_video

from .figures import spread
from .server import IDLE_WINDOW, Server


def copy_limit(bench):
    """Copy segments from the middle against what they cannot go below: PyAV seeking,
    reading the segment's packets and muxing them into FFmpeg's null muxer, in this
    process with the file already open, the bytes then sent by the same server and
    client (the same segment fetched again, from the cache).

    The server is idle between segments, and each run of the limit follows as long
    an idle pause: a viewer's request comes after seconds of idle, and an idle CPU
    has lost its caches (here that doubles the limit's CPU, 1.6 → 3.2 ms). They come
    from a second server on the same index with the segment cache on, as a viewer's
    server has it (the benchmark's own has it off, so every figure makes its segment):
    the cold fetch writes the segment into the cache, and fetching it again sends it
    from there."""
    server = Server(bench.root, bench.work, bench.log, extra=["--cache", "true"], name="server-cache-on")
    try:
        stream, _ = open_video(server.client, bench.id_of(bench.media["seek"]), "original")
        stream.fetch(server.client, len(stream) - 1)  # the file opened by its worker, as for a viewer
        middle = len(stream) // 2
        indexes = sorted({min(len(stream) - 1, max(0, middle + k)) for k in range(2, -3, -1)}, reverse=True)
        times, cpu, sending = [], [], []
        for index in indexes:
            server.wait_idle()
            workers = server.workers()
            before = server.cpu_seconds(workers)
            times.append(stream.fetch(server.client, index))
            cpu.append(server.cpu_seconds(workers) - before)
            server.wait_idle()
            sending.append(stream.fetch(server.client, index, again=True))
    finally:
        server.stop()
    limits, into_ts = [], []
    with av.open(bench.media["sources"]["playback"]) as source:
        for index in indexes:
            time.sleep(IDLE_WINDOW)
            limits.append(_copy_limit(source, stream.starts[index], stream.durations[index]))
            time.sleep(IDLE_WINDOW)
            into_ts.append(_copy_limit(source, stream.starts[index], stream.durations[index],
                                       "mpegts", os.path.join(bench.work, "limit.ts"))[1])
    made, send = statistics.median(wall for wall, _ in limits), statistics.median(sending)
    haema = statistics.median(times)
    bench.results.set("copy_segment", haema, spread(times) + f"; segments {indexes}")
    bench.results.set("copy_segment_limit", made, spread([wall for wall, _ in limits]))
    bench.results.set("copy_segment_send", send, spread(sending))
    bench.results.set("copy_segment_vs_limit", haema / (made + send))
    haema, limit = statistics.median(cpu), statistics.median(used for _, used in limits)
    bench.results.set("copy_segment_cpu", haema, spread(cpu))
    bench.results.set("copy_segment_cpu_limit", limit, spread([used for _, used in limits]))
    bench.results.set("copy_segment_cpu_vs_limit", haema / limit)
    bench.results.set("copy_segment_cpu_ts", statistics.median(into_ts), spread(into_ts))
    bench.results.set("copy_segment_cpu_vs_ts", haema / statistics.median(into_ts))


def copy_busy(bench):
    """Copy segments as a busy copy worker makes them, one request right after the
    other (many viewers: 40 copy players ask for 10 segments a second), against the
    limit back to back. The cold figures above carry what an idle CPU costs both
    sides on its first work, which on this machine swings from hour to hour (the
    limit's 2 ms became 17 after half a second of idle); back to back, each side
    pays only its own work. Each segment is made once before the measured rounds."""
    stream, _ = open_video(bench.client, bench.id_of(bench.media["seek"]), "original")
    indexes = list(range(1, len(stream) - 1)) or list(range(len(stream)))  # not the shorter last
    rounds = 3
    bench.server.wait_idle()
    workers = bench.server.workers()
    for index in indexes:
        stream.fetch(bench.client, index)
    before = bench.server.cpu_seconds(workers)
    for _ in range(rounds):
        for index in indexes:
            stream.fetch(bench.client, index)
    haema = (bench.server.cpu_seconds(workers) - before) / (rounds * len(indexes))
    with av.open(bench.media["sources"]["playback"]) as source:
        def limit_round():
            return sum(_copy_limit(source, stream.starts[i], stream.durations[i])[1] for i in indexes)
        limit_round()
        limit = sum(limit_round() for _ in range(rounds)) / (rounds * len(indexes))
    note = f"segments {indexes[0]}-{indexes[-1]}, {rounds} rounds"
    bench.results.set("copy_busy_cpu", haema, note)
    bench.results.set("copy_busy_cpu_limit", limit, note)
    bench.results.set("copy_busy_cpu_vs_limit", haema / limit)


def _copy_limit(container, start, duration, muxer="null", target=os.devnull):
    """Seconds (wall, CPU) PyAV takes to seek the open ``container`` to ``start`` (from
    its first keyframe on) and mux the packets up to ``start + duration`` into a null output
    (or into ``target`` with the muxer ``muxer``: what is left above the limit that is MPEG-TS itself,
    its Annex B conversion and 188-byte packets, which a player of TS segments needs)."""
    streams = [container.streams.video[0], *container.streams.audio[:1]]
    video = streams[0]
    first = video.start_time or 0
    began, used = time.perf_counter(), time.process_time()
    container.seek(first + int(start / video.time_base), stream=video, backward=True)
    out = av.open(target, "w", format=muxer)
    outs = {s.index: out.add_stream_from_template(s) for s in streams}
    end = first + (start + duration) / video.time_base
    for packet in container.demux(streams):
        if packet.pts is None:
            continue
        if packet.stream is video and packet.pts >= end:
            break
        packet.stream = outs[packet.stream.index]
        out.mux(packet)
    out.close()
    return time.perf_counter() - began, time.process_time() - used
