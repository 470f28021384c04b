"""Files made by a worker: the pipe carries their path, never their bytes.

A worker writes a segment straight into its cache file, or, with the cache off or its
disk full, into a spool file that the web process deletes as soon as it has opened it
(the open descriptor keeps the data until the response is sent). So neither process
ever holds a whole segment in memory, whatever its size and however many clients.

A file is first written under a pending name and only renamed into the cache when a
request takes it (``MadeFile.deliver``): a segment made ahead of the player and never
asked for is deleted by the worker (``discard``), so every file in the cache is one the
web process has counted.
"""
import contextlib
import dataclasses
import errno
import itertools
import os

_numbers = itertools.count()


@dataclasses.dataclass(frozen=True)
class Destination:
    """Where a job's file goes: ``cache_file`` (None with the cache off), else ``spool``,
    a folder of files served once. The spool is where a full cache disk sends files too,
    so it is a private temporary folder, not one on the cache's disk."""

    cache_file: str | None
    spool: str

    def pending(self, pid):
        """The file the worker ``pid`` writes into the cache until a request takes it."""
        return f"{self.cache_file}.{pid}.tmp"

    def remove_pending(self, pid):
        """Remove what the worker ``pid`` left half written when it died or hung."""
        if self.cache_file is not None:
            with contextlib.suppress(FileNotFoundError):
                os.remove(self.pending(pid))
        for name in os.listdir(self.spool):
            if name.startswith(f"{pid}-"):
                with contextlib.suppress(FileNotFoundError):
                    os.remove(os.path.join(self.spool, name))


@dataclasses.dataclass(frozen=True)
class MadeFile:
    path: str
    size: int
    cache_file: str | None = None  # where ``deliver`` puts it; None: a spool file
    cache_full: bool = False  # it was meant for the cache, whose disk was full

    @property
    def cached(self):
        return self.cache_file is not None

    def deliver(self):
        """The file as a request receives it: a cache file in its place."""
        if self.cache_file is None or self.path == self.cache_file:
            return self
        os.replace(self.path, self.cache_file)
        return dataclasses.replace(self, path=self.cache_file)

    def discard(self):
        """Delete a file made ahead that no request took."""
        try:
            os.remove(self.path)
        except FileNotFoundError:
            pass


def make_file(destination, suffix, write):
    """Run ``write(path)``, which writes a file at ``path``, for ``destination``.

    A full cache disk (ENOSPC) sends the file to the spool instead, said by
    ``cache_full``; any other error removes the partial file and propagates.
    """
    full = False
    if destination.cache_file is not None:
        pending = destination.pending(os.getpid())
        try:
            os.makedirs(os.path.dirname(pending), exist_ok=True)
            return MadeFile(pending, _written(pending, write), destination.cache_file)
        except OSError as error:
            if error.errno != errno.ENOSPC:
                raise
            full = True
    pending = os.path.join(destination.spool, f"{os.getpid()}-{next(_numbers)}{suffix}")  # see remove_pending
    return MadeFile(pending, _written(pending, write), None, full)


def _written(path, write):
    """The size of the file ``write`` made at ``path``; no partial file is left behind."""
    try:
        write(path)
        return os.stat(path).st_size
    except BaseException:
        try:
            os.remove(path)
        except OSError:
            pass
        raise
