"""Work that runs beside the web process."""
import logging
import multiprocessing

import gevent
import gevent.socket

from . import library

log = logging.getLogger(__name__)


class BackgroundScan:
    """Library scans in a process of their own.

    Probing decodes frames and indexing reads whole files; in the web process that would
    take the GIL from every request, and a native thread there cannot share gevent's
    locks (a request waiting on one is never woken). A spawned process shares nothing
    but the SQLite file.
    """

    def __init__(self, config, thumbnail_dir):
        self.args = (config.target_path, thumbnail_dir, config.db, config.log_level)
        self.process = None
        self.reaper = None

    @property
    def running(self):
        return self.process is not None and self.process.is_alive()

    def start(self):
        if self.running:
            return False
        context = multiprocessing.get_context("spawn")
        self.process = context.Process(target=library.background_job, args=self.args, name="haema-scan", daemon=True)
        self.process.start()
        self.reaper = gevent.spawn(_reap, self.process)
        return True

    def close(self):
        if self.reaper is not None:
            self.reaper.kill()
        if self.running:
            self.process.terminate()
            self.process.join(timeout=5)


def _reap(process):
    """Wait for the scan to end without blocking the server, then collect its exit
    status: a finished scan nobody asks about must not linger as a zombie process."""
    gevent.socket.wait_read(process.sentinel)
    process.join()
