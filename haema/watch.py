"""The watched folder: files added, changed, moved or removed show up without a rescan.

inotify (through watchdog) says when something in the library changes; after the
folder has been quiet for a moment a rescan brings the index in line. A rescan only
opens new or changed files, so a burst of events costs one walk. Idle, watching costs
nothing but the kernel's watches (one per folder): no periodic walk of the tree.

A file still being copied is not indexed half-written: a file that was written to, or
created and opened by its writer, is waited for until it is closed (inotify's
IN_CLOSE_WRITE), or until it has had no event for ``STALLED`` seconds (a writer that
went away, or a change of attributes only, which no close follows). The open counts: an
encoder (ffmpeg writing a 1080p MKV) creates its file and then writes nothing for
longer than the quiet period, and the rescan that came meanwhile found a file with no
streams yet and skipped it. A file that only appeared is complete: one moved in whole
from outside the folder, alone or inside a folder moved in, is reported as created, and
nothing opens it until the rescan does.
"""
import dataclasses
import logging
import multiprocessing
import multiprocessing.connection
import os
import queue
import signal
import subprocess
import sys
import threading
import time

from watchdog.events import (EVENT_TYPE_CLOSED, EVENT_TYPE_CREATED, EVENT_TYPE_DELETED, EVENT_TYPE_MODIFIED,
                             EVENT_TYPE_MOVED, EVENT_TYPE_OPENED, FileSystemEventHandler)
from watchdog.observers import Observer

log = logging.getLogger(__name__)

QUIET = 1.5  # s without events before a rescan: a copy of many files is one rescan
STALLED = 60.0  # s: a file written to and never closed counts as done after this long untouched
RELEVANT = {EVENT_TYPE_CREATED, EVENT_TYPE_OPENED, EVENT_TYPE_MODIFIED, EVENT_TYPE_MOVED, EVENT_TYPE_DELETED,
            EVENT_TYPE_CLOSED}


@dataclasses.dataclass(frozen=True)
class Change:
    kind: str  # a watchdog event type: "created", "opened", "modified", "moved", "deleted", "closed"
    path: str
    is_directory: bool = False
    destination: str = None  # of a move


class Pending:
    """What happened since the last rescan, and when a rescan may start: a pure
    timekeeper, given the clock by its caller."""

    def __init__(self, quiet=QUIET, stalled=STALLED):
        self.quiet, self.stalled = quiet, stalled
        self.last = None  # when the latest change arrived, None if nothing is pending
        self.writing = {}  # path of a file written to and not closed yet → its latest event
        self.created = set()  # files created since the last rescan, and not opened since

    def add(self, change, now):
        if change.kind == EVENT_TYPE_OPENED:
            # An open is a change only as a writer's, right after it created the file; any
            # other is a reader's (the rescan's own, above all), and must not bring another.
            if change.path in self.created:
                self.created.discard(change.path)
                self.writing[change.path] = self.last = now
            return
        self.last = now
        if change.is_directory:
            return
        if change.kind == EVENT_TYPE_CREATED:
            self.created.add(change.path)
        elif change.kind == EVENT_TYPE_MODIFIED:
            self.writing[change.path] = now
        else:  # closed, deleted, or moved away (a move is complete: rsync and browsers rename finished files)
            self.writing.pop(change.path, None)
            self.created.discard(change.path)

    def wait(self, now):
        """Seconds to wait before the rescan; 0: now; None: nothing is pending."""
        if self.last is None:
            return None
        quiet_left = self.last + self.quiet - now
        writers_left = max((at + self.stalled - now for at in self.writing.values()), default=0)
        return max(0.0, quiet_left, writers_left)

    def clear(self):
        self.last = None
        self.writing.clear()
        self.created.clear()


class _Queue(FileSystemEventHandler):
    """watchdog's thread puts changes here; the watching loop takes them."""

    def __init__(self, ignored):
        self.changes = queue.Queue()
        self.ignored = tuple(ignored)

    def on_any_event(self, event):
        if event.event_type not in RELEVANT:
            return  # closed-without-writing: a reader's, the scan's own above all
        path = os.fsdecode(event.src_path)
        if path.startswith(self.ignored) or os.path.basename(path).startswith("."):
            return
        destination = os.fsdecode(event.dest_path) if event.dest_path else None
        self.changes.put(Change(event.event_type, path, event.is_directory, destination))


def watch(root, rescan, ignored=(), quiet=QUIET, stalled=STALLED):
    """Watch ``root`` for ever, calling ``rescan()`` once changes settle."""
    handler = _Queue(ignored)
    observer = Observer()
    observer.schedule(handler, root, recursive=True)
    observer.start()
    log.info("watching %s for changes", root)
    pending = Pending(quiet, stalled)
    try:
        while True:
            try:
                change = handler.changes.get(timeout=pending.wait(time.monotonic()))
            except queue.Empty:
                pending.clear()
                log.info("the library folder changed; rescanning")
                rescan()
                continue
            log.debug("%s %s", change.kind, change.path)
            pending.add(change, time.monotonic())
    finally:
        observer.stop()


def watch_job(root, thumbnail_dir, trickplay_dir, db_path, log_level, lock):
    """The entry point of the watching process (services.FolderWatch).

    Each rescan runs in a fresh interpreter (library.background_job), taking ``lock``
    so it never overlaps another scan: the watcher itself imports neither PyAV nor
    numpy and stays small (about 20 MB against 75) for as long as the server runs.
    """
    logging.basicConfig(level=log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the server's to handle: it stops us
    _exit_with(multiprocessing.parent_process())
    package_parent = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    command = _rescan_command(root, thumbnail_dir, trickplay_dir, db_path, log_level)

    def rescan():
        with lock:
            subprocess.run(command, cwd=package_parent, check=False)

    ignored = [thumbnail_dir, trickplay_dir, db_path]  # in case the cache or database sit in the library
    watch(os.path.realpath(root), rescan, ignored)


def _rescan_command(*args):
    """A fresh interpreter running library.background_job(*args); in the single-file
    binary, which takes no ``-c``, the binary itself with cli.RESCAN_ARG."""
    if getattr(sys, "frozen", False):
        from haema.cli import RESCAN_ARG  # the command line's owner; imported only when frozen

        return [sys.executable, RESCAN_ARG, *args]
    return [sys.executable, "-c", "import sys; from haema.library import background_job; "
            "background_job(*sys.argv[1:])", *args]


def _exit_with(parent):
    """End this process when the server's ends, however it ends: a SIGTERM or a crash
    runs no clean-up in the server, and a watcher left behind would watch for ever."""
    def wait():
        multiprocessing.connection.wait([parent.sentinel])
        os._exit(0)

    threading.Thread(target=wait, name="haema-watch-parent", daemon=True).start()
