#!/usr/bin/env python3
"""Haema's benchmark: what a user of a home server feels, against targets and against ffmpeg.

    python scripts/bench.py [--quick | --smoke] [--json FILE] [--keep DIR]

It generates its media (scripts/benchmedia.py), starts the real server
(``python haema.py``) on it and measures over HTTP, like a player: time to first
segment, cold seeks, sequential playback, the keyframe index of a long file, the
library scan, the API under load, memory, four players at once and (full run only) a
10-minute soak. In the same run it cuts the same intervals with one ``ffmpeg`` process
per segment, the baseline other servers give, and prints ratios. Every figure is a
median or a distribution of this run; targets come from issues 4, 5 and 7. Each
measurement is a module of scripts/benchmark/; this file sets up and runs them in turn.

``--quick`` uses shorter media and fewer repetitions (under 5 minutes on 2 cores);
``--smoke`` is smaller still and only proves the suite runs (the test suite uses it:
its numbers mean nothing). Without Debian's ffmpeg the baseline figures are skipped.
"""
import argparse
import contextlib
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time

import av

import benchmedia
from benchmark import api, copies, latency, library, machine, playback
from benchmark.baseline import FFMPEG
from benchmark.figures import FIGURE_KEYS, MODES, Results
from benchmark.server import WORKERS, Server
from harness.viewer import open_video


class Bench:
    """One run: its mode's sizes (``p``), its media, the server and a client of it, and the
    results; each step of ``run`` is a function of it."""

    def __init__(self, mode, keep=None, log=print):
        self.mode, self.p = mode, MODES[mode]
        self.log = log
        self.results = Results()
        self.work = keep or tempfile.mkdtemp(prefix="haema-bench-")
        self.keep = keep is not None
        self.root = os.path.join(self.work, "library")
        self.media = None
        self.server = None
        self.ids = {}

    # -- set up --------------------------------------------------------------

    def prepare(self):
        p = self.p
        if os.path.isdir(self.root):
            shutil.rmtree(self.root)
        os.makedirs(self.root)
        self.log(f"generating media in {self.work}")
        self.media = benchmedia.build_library(
            self.root, os.path.join(self.work, "media"), p["files"], size=p["size"], clip_seconds=p["clip"],
            copies=p["copies"], long_gop_seconds=p["long_gop"], feature_copies=p["feature"],
            extra=["first copy", "first 720p", "seek", "prefetch seek", "sequential", "load"], reps=p["reps"],
            players=4, log=self.log)
        shutil.rmtree(os.path.join(self.work, "cache"), ignore_errors=True)
        for name in ("haema.db", "haema.db-wal", "haema.db-shm"):
            with contextlib.suppress(FileNotFoundError):
                os.remove(os.path.join(self.work, name))

    def media_facts(self):
        return self.media["facts"] if self.media else None

    def start(self):
        self.server = Server(self.root, self.work, self.log)
        self.client = self.server.client

    def video_ids(self):
        """``{relative path: video id}`` from the listing, as a client finds them."""
        shows = self.client.json("/api/v1/shows")
        titles = {}
        for show in shows:
            if show["type"] == "movie":
                titles[show["info"]["title"]] = show["info"]["id"]
        return titles

    def id_of(self, relpath):
        title = os.path.basename(os.path.dirname(relpath)).rsplit(" (", 1)[0]
        if title not in self.ids:
            raise RuntimeError(f"{title!r} is not among the movies the server lists: "
                               f"{sorted(t for t in self.ids if t.startswith('Bench'))}")
        return self.ids[title]

    def warm_workers(self):
        """Start every encoder process with a tiny job, so figures do not include process start-up.

        Each new video goes to the worker with the fewest videos in play, so one small
        video per worker reaches them all."""
        shows = self.client.json("/api/v1/shows")
        ids = [s["info"]["id"] for s in shows if s["type"] == "movie" and not s["info"]["title"].startswith("Bench")]
        for video_id in ids[:WORKERS]:
            stream, _ = open_video(self.client, video_id, "original")
            stream.fetch(self.client, 0)
        self.server.wait_idle()

    # -- the whole run ---------------------------------------------------------

    def run(self):
        steps = [("media", Bench.prepare), ("codec speed", machine.codec_speed), ("server", Bench.start),
                 ("library scan", library.scan), ("workers", Bench.warm_workers),
                 ("first segment", latency.first_segment), ("copy limit", copies.copy_limit),
                 ("copy back to back", copies.copy_busy), ("seeks", latency.seeks),
                 ("sequential playback", playback.playback), ("long file", library.long_file),
                 ("API under load", api.api), ("4 players", playback.players), ("soak", playback.soak)]
        began = time.monotonic()
        try:
            for name, step in steps:
                started = time.monotonic()
                self.log(f"[{time.monotonic() - began:5.0f} s] {name}")
                step(self)
                self.log(f"        {name}: {time.monotonic() - started:.1f} s")
        finally:
            if self.server is not None:
                self.server.stop()
            if not self.keep:
                shutil.rmtree(self.work, ignore_errors=True)
        if not FFMPEG:
            self.results.skip([k for k in FIGURE_KEYS if "ffmpeg" in k], "ffmpeg not installed")
        self.seconds = time.monotonic() - began
        return self.results


def about_machine():
    cpu = "unknown"
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as info:
        for line in info:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {"cpu": cpu, "cores": os.cpu_count(), "load_average": os.getloadavg(), "python": platform.python_version(),
            "pyav": av.__version__, "ffmpeg": _ffmpeg_version()}


def _ffmpeg_version():
    if not FFMPEG:
        return None
    line = subprocess.run([FFMPEG, "-version"], capture_output=True, text=True).stdout.splitlines()[0]
    return line.split(" Copyright")[0]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--quick", action="store_true", help="shorter media, fewer repetitions (< 5 min)")
    group.add_argument("--smoke", action="store_true", help="tiny run that only proves the suite works")
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    parser.add_argument("--keep", metavar="DIR", help="work in DIR and keep media, database and server log")
    args = parser.parse_args(argv)
    mode = "smoke" if args.smoke else "quick" if args.quick else "full"
    if not FFMPEG:
        print("ffmpeg not found: the ffmpeg-per-segment baseline is skipped (apt-get install -y ffmpeg)")
    about = about_machine()
    bench = Bench(mode, keep=os.path.abspath(args.keep) if args.keep else None,
                  log=lambda text: print(text, flush=True))
    results = bench.run()
    print()
    print(f"Haema benchmark ({mode}), {datetime.date.today()}, {about['cpu']}, {about['cores']} cores, "
          f"load average {about['load_average'][0]:.1f} at the start; {bench.seconds:.0f} s")
    print(results.table())
    if args.json:
        document = {"mode": mode, "date": datetime.datetime.now().isoformat(timespec="seconds"),
                    "machine": about, "seconds": round(bench.seconds, 1), "media": bench.media_facts(),
                    "figures": list(results.rows())}
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump(document, out, indent=2, ensure_ascii=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
