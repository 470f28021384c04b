"""Work that runs beside the web process."""
import logging
import multiprocessing

import gevent
import gevent.socket

from . import library, watch

log = logging.getLogger(__name__)


class BackgroundScan:
    """Library scans in a process of their own.

    Probing decodes frames and indexing reads whole files; in the web process that would
    take the GIL from every request, and a native thread there cannot share gevent's
    locks (a request waiting on one is never woken). A spawned process shares nothing
    but the database.
    """

    def __init__(self, config, library, lock):
        self.args = (config.target_path, library.thumbnail_dir, library.trickplay_dir, config.db, config.log_level,
                     lock)
        self.process = None
        self.scans = 0
        self.reaper = None

    @property
    def running(self):
        return self.process is not None and self.process.is_alive()

    def start(self):
        if self.running:
            return False
        context = multiprocessing.get_context("spawn")
        self.process = context.Process(target=library.background_job,
                                       args=(*self.args, self.scans == 0), name="haema-scan", daemon=True)
        self.process.start()
        self.scans += 1
        self.reaper = gevent.spawn(_reap, self.process)
        return True

    def close(self):
        if self.reaper is not None:
            self.reaper.kill()
        if self.running:
            self.process.terminate()
            self.process.join(timeout=5)


class FolderWatch:
    """The watched library folder (watch.py), in a process of its own for the reasons
    above; its rescans and BackgroundScan's take turns through ``lock``."""

    def __init__(self, config, library, lock):
        self.args = (config.target_path, library.thumbnail_dir, library.trickplay_dir, config.db, config.log_level,
                     lock)
        self.process = None

    def start(self):
        context = multiprocessing.get_context("spawn")
        self.process = context.Process(target=watch.watch_job, args=self.args, name="haema-watch", daemon=True)
        self.process.start()

    def close(self):
        if self.process is not None and self.process.is_alive():
            self.process.terminate()
            self.process.join(timeout=5)


def scan_lock():
    """The lock that keeps two scans of one library from running at once."""
    return multiprocessing.get_context("spawn").Lock()


def _reap(process):
    """Wait for the scan to end without blocking the server, then collect its exit
    status: a finished scan nobody asks about must not linger as a zombie process."""
    gevent.socket.wait_read(process.sentinel)
    process.join()
