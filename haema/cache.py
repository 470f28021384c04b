"""Made segments on disk, held under a size budget by least-recently-used eviction.

Keys name the video, its file version, the variant and the file, so a changed file
never serves stale segments. Workers write the files (made.py): under a temporary name
renamed into place, so a reader or a crash never sees half a segment; the web process
counts each one it is handed (``add``) and evicts. The LRU order lives in memory and is
rebuilt from modification times at start-up (a hit touches the file).

``SegmentStore`` is the web process's one view of it: the keys, where a worker is told
to write (the cache, else the spool of files served once), taking a made file in, and
clearing up after a worker lost mid-write.
"""
import collections
import logging
import os
import shutil
import tempfile

from .made import Destination

log = logging.getLogger(__name__)


class SegmentStore:
    """Everything the web process does with the files workers make (made.py is the
    workers' half: writing under a pending name, renamed into the cache when a request
    takes the file, or deleted when no request does)."""

    def __init__(self, root, limit, enabled=True):
        self.cache = SegmentCache(root, limit, enabled)
        self.spool = tempfile.mkdtemp(prefix="haema-spool-")  # files served once: cache off or its disk full
        self._said_full = False

    def close(self):
        shutil.rmtree(self.spool, ignore_errors=True)

    @staticmethod
    def key(video, rendition, name):
        """The key of file ``name`` ("3.ts", "init.mp4", "iframes/3.ts") of a rendition
        of ``video``: its id and file version first, so a changed file misses."""
        return f"{video.id}/{video.version}/{rendition}/{name}"

    @property
    def caching(self):
        return self.cache.enabled

    def __contains__(self, key):
        return key in self.cache

    def open(self, key):
        """The cached file of ``key``, opened, or None (see ``SegmentCache.open``)."""
        return self.cache.open(key)

    def destination(self, key):
        """Where a worker writes the file of ``key``."""
        return Destination(cache_file=self.cache.path(key) if self.cache.enabled else None, spool=self.spool)

    def take(self, key, made):
        """Open a file a worker made: count it into the cache, or unlink a spool file
        (the descriptor keeps it readable until the response is sent)."""
        opened = open(made.path, "rb")
        if made.cached:
            self.cache.add(key, made.size)
        else:
            os.remove(made.path)
        if made.cache_full and not self._said_full:
            self._said_full = True
            log.error("the cache disk is full (%s); serving segments uncached", self.cache.root)
        return opened

    @staticmethod
    def remove_pending(pid, jobs):
        """The pool's ``on_lost``: a worker killed or hung mid-segment leaves a
        half-written file, not counted by the cache, so removed here rather than at the
        next start-up."""
        for job in jobs:
            destination = getattr(job, "destination", None)
            if destination is not None:
                destination.remove_pending(pid)


class SegmentCache:
    def __init__(self, root, limit, enabled=True):
        self.root = root
        self.limit = limit
        self.enabled = enabled
        self.entries = collections.OrderedDict()  # relative path → size, oldest first
        self.total = 0
        if enabled:
            os.makedirs(root, exist_ok=True)
            self._load()

    def _load(self):
        found = []
        for top, _, files in os.walk(self.root):
            for name in files:
                full = os.path.join(top, name)
                if name.endswith(".tmp"):
                    os.remove(full)  # left by a crash mid-write
                    continue
                stat = os.stat(full)
                found.append((stat.st_mtime, os.path.relpath(full, self.root), stat.st_size))
        for _, key, size in sorted(found):
            self.entries[key] = size
            self.total += size
        self._evict()

    def __contains__(self, key):
        return self.enabled and key in self.entries

    def path(self, key):
        return os.path.join(self.root, key)

    def open(self, key):
        """The cached file of ``key``, opened, or None; a hit makes it the most recent.
        The open file stays readable if it is evicted while it is sent."""
        if not self.enabled or key not in self.entries:
            return None
        path = self.path(key)
        try:
            os.utime(path)
            opened = open(path, "rb")
        except OSError:
            self.total -= self.entries.pop(key)
            return None
        self.entries.move_to_end(key)
        return opened

    def add(self, key, size):
        """Count a file written at ``path(key)`` (by a worker, renamed into place)."""
        if not self.enabled:
            return
        self.total += size - self.entries.pop(key, 0)
        self.entries[key] = size
        self._evict()

    def _evict(self):
        while self.total > self.limit and self.entries:
            key, size = self.entries.popitem(last=False)
            self.total -= size
            try:
                os.remove(os.path.join(self.root, key))
            except FileNotFoundError:
                pass
