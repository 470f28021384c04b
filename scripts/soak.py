#!/usr/bin/env python3
"""Soak: many simulated players on the real server for a long time; does anything give?

    python scripts/soak.py --copy 40 --transcode 2 --minutes 60 [--svg docs/soak.svg]

It makes a 1080p library (one grainy clip, remuxed into a long file and hard-linked
under one title per player, so every player has a video of its own), starts
``python haema.py`` on it with the segment cache on and small (so eviction runs all
along), and plays: each player opens the master and media playlist like hls.js, starts
at a random point, keeps a buffer of its own size between 12 and 30 s, and plays at
1×. Copy players take ``original``, transcode players ``720p_h264``.

It prints failed requests, stalls, segment latency (p50/p95/max, copy and transcode
apart), and the RSS of every process minute by minute: the minimum of each minute,
which for a worker is its size between segments. Growth is the last minute's minimum
against the second minute's. ``--svg`` draws the RSS over time.
"""
import argparse
import os
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time

import benchmedia
from harness.players import Playhead
from harness.processes import children, cpu_seconds, rss_mb
from harness.server import running_server
from harness.viewer import Client, Stream

SAMPLE_EVERY = 1.0  # seconds between RSS samples


class Player(threading.Thread):
    """One viewer: playlists, then segments in order while the buffer is under its goal."""

    def __init__(self, port, video_id, variant, buffer_goal, deadline, rng):
        super().__init__(daemon=True)
        self.port, self.video_id, self.variant = port, video_id, variant
        self.buffer_goal, self.deadline, self.rng = buffer_goal, deadline, rng
        self.latencies, self.failures, self.stalls, self.stalled = [], [], 0, 0.0
        self.stall_points = []  # (segments played since the start or seek, seconds stalled)

    def run(self):
        client = Client(self.port, timeout=120)
        try:
            while time.monotonic() < self.deadline:
                stream = self._open(client)
                if stream is None:
                    time.sleep(1)
                    continue
                self._play(client, stream, self.rng.randrange(len(stream)))
        finally:
            client.close()

    def _get(self, client, path):
        try:
            status, body, seconds = client.get(path)
        except OSError as error:
            self.failures.append(f"{path}: {error!r}")
            return None
        if status != 200:
            self.failures.append(f"{path}: {status} {body[:100]!r}")
            return None
        return seconds

    def _open(self, client):
        base = f"/api/v1/video/{self.video_id}"
        if self._get(client, f"{base}/master.m3u8") is None:
            return None
        try:
            return Stream(client, f"{base}/{self.variant}")
        except RuntimeError as error:
            self.failures.append(str(error))
            return None

    def _play(self, client, stream, first):
        playhead = Playhead(self.buffer_goal)
        for played, index in enumerate(range(first, len(stream))):
            if time.monotonic() >= self.deadline:
                return
            playhead.wait_for_room(self.deadline)
            seconds = self._get(client, stream.url(index))
            if seconds is None:
                return  # a failed segment: the player starts over, as a reload would
            self.latencies.append(seconds)
            stalled = playhead.received(stream.durations[index])
            if stalled:
                self.stalls += 1
                self.stalled += stalled
                self.stall_points.append((played, stalled))


def process_names(server):
    """``{pid: name}`` of the server and its children (the encoders, the scan)."""
    return {server.process.pid: "server", **{pid: f"child {pid}" for pid in children(server.process.pid)}}


def sample_processes(server, halt, samples, cpu):
    """``samples[name]`` ← (seconds since start, MB), every ``SAMPLE_EVERY`` s, and the
    machine's load average: a stall on a machine busy with other work is not Haema's alone.
    ``cpu[name]`` ← the CPU seconds each process has used, the soak's own players among
    them: here they share the server's two cores, which a viewer's TV does not."""
    started = time.monotonic()
    first = {}
    while not halt.wait(SAMPLE_EVERY):
        samples.setdefault("load average", []).append((time.monotonic() - started, os.getloadavg()[0]))
        for pid, name in {**process_names(server), os.getpid(): "soak players"}.items():
            mb = rss_mb(pid)
            if mb is not None and pid != os.getpid():
                samples.setdefault(name, []).append((time.monotonic() - started, mb))
            used = cpu_seconds(pid)
            if used is not None:
                first.setdefault(name, used)
                cpu[name] = used - first[name]


def make_library(root, work, players, minutes):
    os.makedirs(work, exist_ok=True)
    clip = benchmedia.encode_clip(os.path.join(work, "clip.mp4"), 8, gop=2 * benchmedia.FPS)
    source = benchmedia.repeat(clip, os.path.join(work, "soak.mp4"), max(2, round(minutes * 60 / 8)))
    for n in range(players):
        title = f"Soak {benchmedia.title(n)}"
        path = os.path.join(root, "Movies", f"{title} (2024)", f"{title} (2024).mp4")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        os.link(source, path)


def per_minute_minima(points):
    minutes = {}
    for t, mb in points:
        minute = int(t // 60)
        minutes[minute] = min(mb, minutes.get(minute, mb))
    return [minutes[m] for m in sorted(minutes)]


def percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))] if ordered else float("nan")


def write_svg(path, samples, seconds):
    """RSS of each process over time, one polyline each, as a plain SVG."""
    width, height, pad = 800, 360, 50
    top = max(mb for points in samples.values() for _, mb in points) * 1.1
    colours = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"]
    lines = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" '
             f'font-size="12"><rect width="100%" height="100%" fill="white"/>',
             f'<text x="{pad}" y="20">RSS per process (MB) over {seconds / 60:.0f} minutes</text>']
    for mb in range(0, int(top) + 1, 50):
        y = height - pad - mb / top * (height - 2 * pad)
        lines.append(f'<line x1="{pad}" x2="{width - pad}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>'
                     f'<text x="5" y="{y + 4:.1f}">{mb}</text>')
    for n, (name, points) in enumerate(sorted(samples.items())):
        colour = colours[n % len(colours)]
        coords = " ".join(f"{pad + t / seconds * (width - 2 * pad):.1f},"
                          f"{height - pad - mb / top * (height - 2 * pad):.1f}" for t, mb in points)
        lines.append(f'<polyline fill="none" stroke="{colour}" stroke-width="1" points="{coords}"/>')
        lines.append(f'<text x="{width - pad - 120}" y="{40 + 15 * n}" fill="{colour}">{name}</text>')
    lines.append(f'<text x="{width / 2 - 30}" y="{height - 15}">minutes →</text></svg>')
    with open(path, "w", encoding="utf-8") as out:
        out.write("\n".join(lines))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--copy", type=int, default=40, help="players of the copied variant")
    parser.add_argument("--transcode", type=int, default=2, help="players of the 720p transcode")
    parser.add_argument("--minutes", type=float, default=60, help="how long they play")
    parser.add_argument("--cache-limit", default="1G", help="the server's --cache-limit (small: eviction runs)")
    parser.add_argument("--svg", help="write RSS over time as an SVG here (e.g. docs/soak.svg)")
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    work = tempfile.mkdtemp(prefix="haema-soak-")
    players = args.copy + args.transcode
    try:
        print(f"making media in {work}", flush=True)
        root = os.path.join(work, "library")
        make_library(root, os.path.join(work, "media"), players, min(args.minutes, 20))
        # players start once the scan is done, while its background pass (preview sheets of
        # every video, at nice 5) still runs, as on a library just added
        with running_server(root, work, timeout=600, extra=["--cache-limit", args.cache_limit], settled=False) as server:
            port = int(server.url.rsplit(":", 1)[1])
            shows = Client(port).json("/api/v1/shows")
            ids = [show["info"]["id"] for show in shows]
            seconds = args.minutes * 60
            deadline = time.monotonic() + seconds
            variants = ["original"] * args.copy + ["720p_h264"] * args.transcode
            team = [Player(port, video_id, variant, rng.uniform(12, 30), deadline, random.Random(rng.random()))
                    for video_id, variant in zip(ids, variants)]
            samples, cpu, halt = {}, {}, threading.Event()
            sampler = threading.Thread(target=sample_processes, args=(server, halt, samples, cpu), daemon=True)
            print(f"{args.copy} copy + {args.transcode} transcode players for {args.minutes:g} min", flush=True)
            sampler.start()
            for player in team:
                player.start()
            for player in team:
                player.join()
            halt.set()
            sampler.join()
        report(team, samples, cpu, args, seconds)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def report(team, samples, cpu, args, seconds):
    failures = [f for p in team for f in p.failures]
    print(f"\nsoak: {args.copy} copy + {args.transcode} transcode players, {seconds / 60:g} minutes")
    print(f"failed requests: {len(failures)}")
    for failure in failures[:10]:
        print(f"  {failure}")
    print(f"stalls: {sum(p.stalls for p in team)} ({sum(p.stalled for p in team):.1f} s stalled)")
    for variant in ("original", "720p_h264"):
        players = [p for p in team if p.variant == variant]
        if players:
            print(f"  {variant}: {sum(p.stalls for p in players)} stalls ({sum(p.stalled for p in players):.1f} s) "
                  f"among {len(players)} players, {sum(1 for p in players if p.stalls)} of them stalled at least once")
        starts = [seconds for p in players for played, seconds in p.stall_points if played < 3]
        if players and starts:
            print(f"    {len(starts)} of them ({sum(starts):.1f} s) within the first 3 segments after a start or seek")
    loads = samples.pop("load average", [])
    if loads:
        print(f"machine load average (1 min) during the run: min {min(v for _, v in loads):.1f}, "
              f"median {statistics.median(v for _, v in loads):.1f}, max {max(v for _, v in loads):.1f} "
              f"on {os.cpu_count()} cores")
    for variant in ("original", "720p_h264"):
        times = [t for p in team if p.variant == variant for t in p.latencies]
        if times:
            print(f"segment latency, {variant}: n={len(times)}, p50 {statistics.median(times) * 1000:.0f} ms, "
                  f"p95 {percentile(times, 95) * 1000:.0f} ms, max {max(times) * 1000:.0f} ms")
    print("CPU per process (share of one core over the run):")
    for name, used in sorted(cpu.items(), key=lambda item: -item[1]):
        print(f"  {name:<12} {used:8.0f} s  {used / seconds:5.2f}")
    print("RSS per process, minimum of each minute (MB):")
    for name, points in sorted(samples.items()):
        minima = per_minute_minima(points)
        growth = minima[-1] - minima[min(1, len(minima) - 1)]
        print(f"  {name:<12} max {max(mb for _, mb in points):6.0f}  growth {growth:+6.1f}  "
              + " ".join(f"{mb:.0f}" for mb in minima))
    if args.svg:
        write_svg(args.svg, samples, seconds)
        print(f"plot: {args.svg}")


if __name__ == "__main__":
    sys.exit(main())
