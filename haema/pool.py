"""Encoder processes: the gevent web process never decodes or muxes.

Each worker is a ``spawn``-started process (fork is unsafe after gevent's patching)
reached over a duplex pipe. A video is pinned to one worker, the one with the fewest
videos in play when it starts, so that worker's prefetched segments and warm caches
serve the next request and videos played at once spread over the workers. After answering a segment
request the worker makes the next few segments of the same variant ahead of the player,
checking its pipe between segments: a new request, such as a seek, pre-empts the
prefetch at once.

The web process waits on a pipe with ``gevent.socket.wait_read``, so other requests are
served meanwhile. A worker that dies or stops answering is replaced and the request
retried once; a second failure is a clear 503.
"""
import collections
import ctypes
import logging
import multiprocessing
import os
import time
import traceback

import gevent.lock
import gevent.socket

from .errors import HaemaError

log = logging.getLogger(__name__)

JOB_TIMEOUT = 120  # seconds a single job may take before its worker counts as hung
PREFETCH_MEMORY = 48 << 20  # bytes of prefetched segments a worker keeps (a few, at 1080p)
PIN_IDLE = 120  # seconds after which a video no longer counts as in play on its worker
M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter (malloc.h)


class Pool:
    def __init__(self, size, prefetch=0, job_timeout=JOB_TIMEOUT):
        self.size = size
        self.prefetch = prefetch
        self.job_timeout = job_timeout
        self._context = multiprocessing.get_context("spawn")
        self._workers = [None] * size
        self._locks = [gevent.lock.Semaphore() for _ in range(size)]
        self._pins = {}  # pin → (worker slot, when last used)

    def run(self, pin, call, ahead=()):
        """Make ``call`` in the worker pinned to ``pin`` and return its result.

        A call is ``(key, function, args)``, the function being importable (it crosses a
        process boundary). ``ahead`` lists calls the worker may make in advance; a later
        call with the same key is answered with the result made in advance. Functions
        made in advance take a ``cancelled`` callable and raise ``InterruptedError`` once
        it returns true: a request has arrived and must not wait for them.
        """
        slot = self._slot(pin)
        with self._locks[slot]:
            for attempt in (1, 2):
                worker = self._worker(slot)
                try:
                    return worker.call((call, list(ahead)[: self.prefetch]), self.job_timeout)
                except _WorkerLost as lost:
                    log.error("encoder %d lost (%s), replacing it%s", slot, lost,
                              ", retrying" if attempt == 1 else "")
                    worker.kill()
                    self._workers[slot] = None
        raise HaemaError("the encoder failed twice on this request; see the server log", 503)

    def _slot(self, pin):
        """The worker ``pin`` had, else the one with the fewest pins used in the last
        ``PIN_IDLE`` seconds. (By a hash of the id, four videos on two workers put three
        on one in the benchmark, and that one made their segments in turn.)"""
        now = time.monotonic()
        self._pins = {p: (slot, used) for p, (slot, used) in self._pins.items() if now - used < PIN_IDLE}
        if pin in self._pins:
            slot = self._pins[pin][0]
        else:
            load = collections.Counter(slot for slot, _ in self._pins.values())
            slot = min(range(self.size), key=lambda s: load[s])
        self._pins[pin] = (slot, now)
        return slot

    def _worker(self, slot):
        if self._workers[slot] is None:
            self._workers[slot] = _Worker(self._context, slot)
        return self._workers[slot]

    def close(self):
        for worker in self._workers:
            if worker is not None:
                worker.kill()
        self._workers = [None] * self.size

    def pids(self):
        return [w.process.pid for w in self._workers if w is not None]


class _WorkerLost(Exception):
    pass


class _Worker:
    def __init__(self, context, slot):
        self.connection, child = context.Pipe(duplex=True)
        # gevent's patched socketpair is non-blocking, which multiprocessing's framing
        # cannot read; we wait for readability cooperatively, then read one whole reply
        # (a few milliseconds for a segment) in blocking mode.
        os.set_blocking(self.connection.fileno(), True)
        os.set_blocking(child.fileno(), True)
        self.process = context.Process(target=_serve, args=(child,), name=f"haema-encoder-{slot}", daemon=True)
        self.process.start()
        child.close()

    def call(self, request, timeout):
        try:
            self.connection.send(request)
            gevent.socket.wait_read(self.connection.fileno(), timeout=timeout,
                                    timeout_exc=_WorkerLost(f"no answer in {timeout} s"))
            ok, value = self.connection.recv()
        except (EOFError, OSError, BrokenPipeError) as error:
            raise _WorkerLost(f"pipe closed: {error!r}") from None
        if ok:
            return value
        raise value

    def kill(self):
        self.connection.close()
        if self.process.is_alive():
            self.process.kill()
        self.process.join(timeout=5)


# ---------------------------------------------------------------------------
# Inside a worker process


def _serve(connection):
    """Answer requests; between them, make the segments the last request said come next.

    A request that arrives during a prefetch is read at once. If it asks for the
    segment being made (a player fetching sequentially asks for the next one as soon
    as it has this one), that work goes on and answers it; anything else cancels it.
    """
    _give_freed_frames_back()
    made = collections.OrderedDict()  # cache_key → result of a prefetched call
    made_bytes = 0
    pending = collections.deque()
    arrived = []  # a request read while a prefetch was running

    def interrupted(making):
        """The ``cancelled`` callable of a prefetch of ``making``."""
        def cancelled():
            if not arrived and connection.poll(0):
                try:
                    arrived.append(connection.recv())
                except (EOFError, OSError):
                    arrived.append(None)  # the server is gone: stop
            return bool(arrived) and (arrived[0] is None or _asks_for(arrived[0]) != making)
        return cancelled

    while True:
        while pending and not arrived and not connection.poll(0):
            cache_key, function, args = pending.popleft()
            if cache_key in made:
                continue
            try:
                result = function(*args, cancelled=interrupted(cache_key))
            except InterruptedError:  # another request came in: it is served first
                continue
            except Exception:  # a prefetch failure is reported when the segment is asked for
                log.debug("prefetch of %s failed", cache_key, exc_info=True)
                continue
            made[cache_key] = result
            made_bytes += len(result) if isinstance(result, bytes) else 0
            while made_bytes > PREFETCH_MEMORY and made:
                _, old = made.popitem(last=False)
                made_bytes -= len(old) if isinstance(old, bytes) else 0
        try:
            request = arrived.pop() if arrived else connection.recv()
        except (EOFError, OSError):
            return
        if request is None:
            return
        (cache_key, function, args), ahead = request
        pending.clear()  # a new request, maybe a seek: the old prefetch is stale
        try:
            if cache_key in made:
                result = made.pop(cache_key)
                made_bytes -= len(result) if isinstance(result, bytes) else 0
            else:
                result = function(*args)
            reply = (True, result)
        except HaemaError as error:
            reply = (False, error)
        except Exception as error:  # any other failure is answered, not fatal to the worker
            reply = (False, HaemaError(f"{type(error).__name__}: {error}", 500))
            traceback.print_exc()
        try:
            connection.send(reply)
        except (EOFError, OSError):
            return
        pending.extend(ahead)


def _asks_for(request):
    """The cache key of the call a request (``(call, ahead)``, as Pool.run sends it) makes."""
    (cache_key, _function, _args), _ahead = request
    return cache_key


def _give_freed_frames_back():
    """Map every big allocation on its own, so a freed video frame is returned to the OS.

    glibc raises its mmap threshold after the first multi-megabyte buffer is freed, so
    later frames come from the heap, and a worker's RSS stays near the peak of its
    biggest segment. A fixed threshold keeps them mapped (making 720p segments from
    1080p: 151 MB → 66 MB between segments, peak 213 → 172 MB). Not glibc: nothing to do.
    """
    try:
        ctypes.CDLL(None).mallopt(M_MMAP_THRESHOLD, 128 << 10)
    except (OSError, AttributeError):
        pass
