#!/usr/bin/env python3
"""Scale-out benchmark: one Haema node against two, each ``--workers 1``, behind nginx.

    python scripts/bench_scaleout.py [--quick] [--json FILE]

Both runs use the same parts as scripts/cluster.py (harness/cluster.py): PostgreSQL, nginx with
conf/nginx.conf, and N nodes with the segment cache off (nginx caches, but every
viewer watches a different film, so each segment is a real transcode: 480p H.264
source to the 360p variant, light enough that one worker holds a few viewers, so
the count has some resolution). Two figures per run:

- **viewers held**: players in real time, each on its own film, added one at a time
  until one stalls. Films are picked so that each node gets its share (nginx's hash
  spreads a large library evenly, but a handful of films can land 6 to 1). A player fetches segments in order while its buffer holds less than
  ``BUFFER`` seconds; a segment that arrives after the playhead reached it is a stall.
  The figure is the most viewers with no stall at all.
- **throughput**: seconds of video made per second of wall time, with ``GREEDY``
  players fetching as fast as they can; the median of three turns.

Both cluster sizes run at the same time (each with its own PostgreSQL and nginx) and
take turns, so that the load of anything else on the machine weighs on both alike.

Ratios are two nodes against one, measured in the same run. What this can show on one
2-core machine: that the nodes share nothing but the database, that consistent hashing
spreads films over them, and that two single-worker nodes use the second core. What it
cannot show: growth past the cores of one machine (two nodes here are two processes on
the same 2 cores, so 2× is a hard ceiling, and ``--workers 2`` on one node would use
that core too), the network between nginx and the nodes, or PostgreSQL under the load
of many nodes. On a shared machine the absolute numbers move with everything else
running; the ratio is the figure to read.
"""
import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request

import benchmedia
from harness import cluster
from harness.players import Playhead
from harness.viewer import Client

VARIANT = "360p_h264"
BUFFER = 10.0  # seconds a player buffers ahead, as a cautious hls.js
GREEDY = 4
FILMS_SPARE = 8


# -- Media ------------------------------------------------------------------------


def make_library(root, work, films, seconds):
    """``films`` distinct 480p films of ``seconds`` (hard links: distinct paths are distinct videos)."""
    clip = benchmedia.encode_clip(os.path.join(work, "clip.mp4"), seconds=6, width=854, height=480)
    source = benchmedia.repeat(clip, os.path.join(work, "film.mp4"), max(1, round(seconds / 6)))
    os.makedirs(os.path.join(root, "Movies"))
    for number in range(films):
        os.link(source, os.path.join(root, "Movies", f"{benchmedia.title(number)} (2001).mp4"))


# -- A player -----------------------------------------------------------------------


class Player(threading.Thread):
    """Plays one film's ``VARIANT`` through nginx on one keep-alive connection."""

    def __init__(self, base, video_id, segments, realtime=True):
        super().__init__(daemon=True)
        self.base, self.video_id, self.count, self.realtime = base, video_id, segments, realtime
        self.stalls, self.stalled, self.failed, self.seconds = 0, 0.0, 0, 0.0

    def run(self):
        self.client = Client(urllib.parse.urlsplit(self.base).port, timeout=120)
        prefix = f"/api/v1/video/{self.video_id}"
        self._get(f"{prefix}/master.m3u8")
        durations = [float(line[8:].rstrip(",")) for line in self._get(f"{prefix}/{VARIANT}/stream.m3u8").decode()
                     .splitlines() if line.startswith("#EXTINF:")][:self.count]
        playhead = Playhead(BUFFER)
        for index, duration in enumerate(durations):
            if self.realtime:
                playhead.wait_for_room()  # then fetch: late is a stall
            self._get(f"{prefix}/{VARIANT}/{index}.ts")
            if index:  # playback began with the first segment
                self.seconds += duration
            playhead.received(duration)
        self.stalls, self.stalled = playhead.stalls, playhead.stalled
        self.client.close()

    def _get(self, path):
        status, body, _ = self.client.get(path)
        if status != 200:
            self.failed += 1
        return body


def play(base, video_ids, segments, realtime):
    players = [Player(base, video_id, segments, realtime) for video_id in video_ids]
    began = time.monotonic()
    for player in players:
        player.start()
    for player in players:
        player.join()
    return players, time.monotonic() - began


# -- The two cluster sizes, side by side ---------------------------------------------


def films_by_node(proxy):
    """The films in the library, grouped by the node nginx sends each to (learnt from the
    access log after one master playlist each)."""
    with urllib.request.urlopen(proxy.url + "/api/v1/shows", timeout=60) as response:
        ids = [show["info"]["id"] for show in json.load(response)]
    for video_id in ids:
        with urllib.request.urlopen(f"{proxy.url}/api/v1/video/{video_id}/master.m3u8", timeout=60) as response:
            response.read()
    node = {}
    while len(node) < len(ids):  # nginx logs a request just after answering it
        node = {uri.split("/")[4]: upstream for _, uri, _, upstream, _ in proxy.served()
                if uri.endswith("master.m3u8")}
        time.sleep(0.05)
    queues = {}
    for video_id in ids:
        queues.setdefault(node[video_id], []).append(video_id)
    return list(queues.values())


class Size:
    """One running cluster and the films its players have not played yet."""

    def __init__(self, nodes, proxy):
        self.nodes, self.proxy = nodes, proxy
        self.queues = films_by_node(proxy)
        self.throughputs, self.levels, self.held, self.holding = [], [], 0, True

    def fresh(self, count):
        """``count`` films nobody has played here (no cache helps), as evenly spread over
        the nodes as they can be."""
        picked = []
        while len(picked) < count:
            queues = sorted((q for q in self.queues if q), key=len, reverse=True)
            if not queues:
                raise RuntimeError("the library has too few films for this run; raise FILMS_SPARE")
            for queue in queues[:count - len(picked)]:
                picked.append(queue.pop())
        return picked

    def flat_out(self, segments):
        players, wall = play(self.proxy.url, self.fresh(GREEDY), segments, realtime=False)
        self.throughputs.append(sum(p.seconds for p in players) / wall)

    def viewers(self, count, segments):
        players, _ = play(self.proxy.url, self.fresh(count), segments, realtime=True)
        stalls, failed = sum(p.stalls for p in players), sum(p.failed for p in players)
        self.levels.append({"viewers": count, "stalls": stalls, "failed": failed,
                            "stalled_seconds": round(sum(p.stalled for p in players), 2)})
        print(f"  {self.nodes} node(s), {count} viewer(s): {stalls} stalls, {failed} failed", flush=True)
        self.holding = not (stalls or failed)
        if self.holding:
            self.held = count

    def result(self):
        spread = {}
        for _, uri, _, upstream, _ in self.proxy.served():
            if uri.endswith(".ts"):
                spread[upstream] = spread.get(upstream, 0) + 1
        return {"nodes": self.nodes, "viewers": self.held, "levels": self.levels,
                "throughput": round(statistics.median(self.throughputs), 2),
                "throughputs": [round(t, 2) for t in self.throughputs],
                "spread": sorted(spread.values(), reverse=True)}


def measure(root, segments, most, rounds):
    """Both sizes run at once, idle but for the one being measured, and take turns: a
    shared machine's load then weighs on both alike. Throughput is the median of
    ``rounds`` turns; viewers are added to each size in turn until it stalls."""
    options = dict(workers=1, durable=False, extra=["--cache", "false", "--auth", "false"], scan_timeout=1800)
    with cluster.cluster(root, nodes=1, **options) as (_, _, small), \
            cluster.cluster(root, nodes=2, **options) as (_, _, big):
        sizes = [Size(1, small), Size(2, big)]
        for _ in range(rounds):
            for size in sizes:
                size.flat_out(segments)
        for count in range(1, most + 1):
            for size in sizes:
                if size.holding:
                    size.viewers(count, segments)
        return [size.result() for size in sizes]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="shorter films, fewer segments per player")
    parser.add_argument("--most", type=int, default=12, help="the most viewers tried per cluster size")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args(argv)
    segments = 6 if args.quick else 12
    rounds = 3
    # fresh films for every run of each size, and spare for the hash's uneven split
    films = GREEDY * rounds + sum(range(1, args.most + 1)) + FILMS_SPARE
    work = tempfile.mkdtemp(prefix="haema-bench-scaleout-")
    try:
        root = os.path.join(work, "library")
        print(f"making {films} films of {segments * 2 + 6} s (480p H.264)...", flush=True)
        make_library(root, work, films, segments * 2 + 6)
        results = measure(root, segments, args.most, rounds)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    one, two = results
    print()
    print(f"{'':28}{'1 node':>10}{'2 nodes':>10}{'2 / 1':>8}")
    print(f"{'viewers held, no stall':28}{one['viewers']:>10}{two['viewers']:>10}"
          f"{two['viewers'] / max(one['viewers'], 1):>8.2f}")
    print(f"{'throughput, video s / s':28}{one['throughput']:>10.2f}{two['throughput']:>10.2f}"
          f"{two['throughput'] / one['throughput']:>8.2f}")
    print(f"{'segments per node':28}{'/'.join(map(str, one['spread'])):>10}{'/'.join(map(str, two['spread'])):>10}")
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the end; "
          f"each node --workers 1; source 480p H.264, variant {VARIANT}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump({"results": results, "cores": os.cpu_count(), "quick": args.quick}, out, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
