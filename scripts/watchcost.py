#!/usr/bin/env python3
"""What watching the library folder costs while nothing changes, on a 10,000-file library.

``python scripts/watchcost.py [--files 10000] [--idle 30]``

Makes a library of hard links of one small clip (1,000 shows of 10 episodes, one
folder per season), starts the real watching process (watch.watch_job) on it and
reads its CPU time (its CPU clock) and memory (/proc) while the folder stays untouched. The
baseline, measured in the same run, is what the cheap alternative would cost: a
periodic rescan, of which only the walk and one stat per file are counted (its lower
bound: the real rescan also reads the index). Printed as ratios against it.
"""
import argparse
import multiprocessing
import os
import resource
import shutil
import sys
import tempfile
import time

from haema import watch
from harness.processes import cpu_seconds, rss_mb

# The watching process is spawned, which imports this file again: PyAV and numpy (in
# haema.library and harness.clips) are imported inside functions, or they would count
# in its memory.

EPISODES_PER_SHOW = 10


def make_library(root, files):
    from harness.clips import make_clip

    clip = os.path.join(root, "..", "clip.mp4")
    make_clip(clip, seconds=1, width=64, height=36, gop=12)
    for number in range(files):
        show, episode = divmod(number, EPISODES_PER_SHOW)
        folder = os.path.join(root, "Shows", f"Show {show:04d}", "Season 01")
        os.makedirs(folder, exist_ok=True)
        os.link(clip, os.path.join(folder, f"Show {show:04d} - S01E{episode + 1:02d}.mp4"))


def walk_and_stat(root):
    """A periodic rescan's least work: find every video file and stat it."""
    from haema.library import Library

    before = resource.getrusage(resource.RUSAGE_SELF)
    library = Library(root, None, None)
    count = sum(1 for relpath in library.walk() if os.stat(os.path.join(library.root, relpath)))
    after = resource.getrusage(resource.RUSAGE_SELF)
    return count, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--idle", type=float, default=30.0, help="seconds of idle watching measured")
    parser.add_argument("--period", type=float, default=60.0, help="the periodic rescan's interval compared against")
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="haema-watchcost-")
    try:
        root = os.path.join(work, "media")
        os.makedirs(root)
        make_library(root, args.files)
        folders = sum(1 for _ in os.walk(root))
        count, walk_cpu = walk_and_stat(root)
        walk_cpu = min(walk_cpu for _, walk_cpu in [walk_and_stat(root) for _ in range(3)])  # warm cache, best of 3

        context = multiprocessing.get_context("spawn")
        lock = context.Lock()  # held here until the child has it: a collected lock's semaphore is gone
        process = context.Process(target=watch.watch_job, name="haema-watch", daemon=True, args=(
            root, os.path.join(work, "thumbnails"), os.path.join(work, "trickplay"), os.path.join(work, "haema.db"),
            "WARNING", lock))
        process.start()
        time.sleep(3)  # interpreter start, imports and one inotify watch per folder
        if not process.is_alive():
            sys.exit(f"the watching process exited with {process.exitcode}")
        started_cpu = cpu_seconds(process.pid)
        time.sleep(args.idle)
        idle_cpu = cpu_seconds(process.pid) - started_cpu
        rss = rss_mb(process.pid)
        process.terminate()
        process.join(5)

        rescan_per_minute = walk_cpu * 60 / args.period
        watch_per_minute = idle_cpu * 60 / args.idle
        print(f"library: {count} video files in {folders} folders (one inotify watch each)")
        print(f"watching, start-up (interpreter, imports, watches): {started_cpu:.2f} CPU s")
        print(f"watching, idle: {idle_cpu:.6f} CPU s in {args.idle:.0f} s = {watch_per_minute:.6f} CPU s/min; "
              f"RSS {rss:.1f} MB")
        print(f"baseline, one walk + stat of the tree (warm cache, best of 3): {walk_cpu:.3f} CPU s")
        print(f"baseline, rescanning every {args.period:.0f} s: {rescan_per_minute:.3f} CPU s/min at least")
        print(f"idle watching / periodic rescan: {watch_per_minute / rescan_per_minute:.6f} x")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
