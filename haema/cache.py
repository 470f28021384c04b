"""Made segments on disk, held under a size budget by least-recently-used eviction.

Keys name the video, its file version, the variant and the index, so a changed file
never serves stale segments. Workers write the files (made.py): under a temporary name
renamed into place, so a reader or a crash never sees half a segment; the web process
counts each one it is handed (``add``) and evicts. The LRU order lives in memory and is
rebuilt from modification times at start-up (a hit touches the file).
"""
import collections
import logging
import os

log = logging.getLogger(__name__)


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
