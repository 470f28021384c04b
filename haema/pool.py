"""Encoder processes: the gevent web process never decodes or muxes.

Each worker is a ``spawn``-started process (fork is unsafe after gevent's patching)
reached over a duplex pipe. A video is pinned to one worker, the one with the fewest
videos in play when it starts, so that worker's prefetched segments and warm caches
serve the next request and videos played at once spread over the workers.

Workers come in two lanes. A worker makes one job at a time, so a copied segment
(milliseconds) queued behind a transcoded one (a second or more) would make its player
wait for work that is not its own, and 40 viewers of copies sharing two workers with
2 transcodes stalled over and over in the soak. Jobs that say they are ``quick`` (copies,
init sections) go to the quick workers, if the pool has any; everything else (transcodes,
preview sheets, keyframe scans) to the encoders. Each lane pins videos on its own.

After answering a segment request the worker makes the segments the request said come
next (playback.py names the next few of a transcode), checking its pipe between
segments: a new request, such as a seek, pre-empts the prefetch at once.

The web process waits on a pipe with ``gevent.socket.wait_read``, so other requests are
served meanwhile. A worker that dies or stops answering is replaced and the request
retried once; a second failure is a clear 503.

The contract: a job is a ``Job`` and its result plain data or a ``Delivered`` file;
what comes back over the pipe is a ``Reply``.
"""
import collections
import dataclasses
import logging
import multiprocessing
import os
import signal
import time
import traceback
import typing

import gevent.lock
import gevent.socket

from .errors import HaemaError
from .memory import give_freed_frames_back, keep_packets_in_the_heap

log = logging.getLogger(__name__)

JOB_TIMEOUT = 120  # seconds a single job may take before its worker counts as hung
PREFETCH_BYTES = 48 << 20  # disk bytes of prefetched segments a worker keeps (a few, at 1080p)
START_TIMEOUT = 60  # seconds a new worker may take to start (Python, PyAV) before it counts as failed
PIN_IDLE = 120  # seconds after which a video no longer counts as in play on its worker


class Job(typing.Protocol):
    """What a worker makes: a picklable object, a frozen dataclass built with keywords
    (``segment.jobs.SegmentJob``, ``subtitles.WebVTTJob``, ``probe.KeyframesJob``)."""

    key: str  # names its result: a request for the key of a job made ahead is answered with that one's
    quick: bool  # milliseconds of work: made in the quick lane, if the pool has one

    def run(self, state, cancelled=None):
        """Make the result, in the worker. ``state`` is the worker's one instance of the
        pool's ``state`` class (``segment.state.WorkerState``: open inputs, a decode
        continuation), made when the worker starts. A job made ahead gets ``cancelled``,
        and raises ``InterruptedError`` once it returns true."""


@typing.runtime_checkable
class Delivered(typing.Protocol):
    """A result that is a file on disk (``made.MadeFile``), rather than plain data."""

    size: int  # bytes, counted against ``PREFETCH_BYTES`` while it waits, made ahead

    def deliver(self):
        """The result as the request that takes it receives it (a file renamed into the cache)."""

    def discard(self):
        """Drop a result made ahead that no request took (the file deleted)."""


@dataclasses.dataclass(frozen=True)
class Reply:
    """A worker's answer to a request: its result, or the error the web process raises."""

    value: object = None
    error: HaemaError | None = None


class Pool:
    def __init__(self, size, quick=0, prefetch=0, job_timeout=JOB_TIMEOUT, state=None, on_lost=None):
        """``size`` encoders and ``quick`` workers for quick jobs (none: the encoders make those too)."""
        self.on_lost = on_lost  # on_lost(pid, jobs): a worker died or hung with these jobs in hand
        self.prefetch = prefetch
        self.job_timeout = job_timeout
        self.state = state  # a class, made once in each worker (it crosses a process boundary by name)
        self._context = multiprocessing.get_context("spawn")
        self._lanes = {False: range(size), True: range(size, size + quick)}
        self._workers = [None] * (size + quick)
        self._locks = [gevent.lock.Semaphore() for _ in self._workers]
        self._pins = {}  # (quick, pin) → (worker slot, when last used)
        self._warming = set()  # greenlets of ``warm``

    def start(self):
        """Start every worker now, so the first request does not wait for a Python
        interpreter and PyAV to load (about a second)."""
        for slot in range(len(self._workers)):
            self._worker(slot)

    def run(self, pin, job, ahead=()):
        """Make ``job`` in the worker pinned to ``pin`` and return its result.

        ``ahead`` lists jobs the worker may make in advance; a later job with the same
        key is answered with the result made in advance. Jobs made in advance get a
        ``cancelled`` callable and raise ``InterruptedError`` once it returns true: a
        request has arrived and must not wait for them. A ``quick`` job goes to the
        quick lane.
        """
        slot = self._slot(pin, bool(job.quick and self._lanes[True]))
        with self._locks[slot]:
            request = _Request(job, tuple(ahead)[: self.prefetch])
            for attempt in (1, 2):
                worker = self._worker(slot)
                try:
                    return worker.call(request, self.job_timeout)
                except _WorkerLost as lost:
                    log.error("encoder %d lost (%s), replacing it%s", slot, lost,
                              ", retrying" if attempt == 1 else "")
                    worker.kill()
                    self._workers[slot] = None
                    if self.on_lost is not None:
                        self.on_lost(worker.process.pid, (job, *request.ahead))
        raise HaemaError("the encoder failed twice on this request; see the server log", 503)

    def warm(self, pin, job, ahead=()):
        """``run`` in the background, its result dropped: for work a request is about to
        need (a player asks for the first segment right after the playlists). A failure
        is logged and left for that request to meet."""
        def warm():
            try:
                self.run(pin, job, ahead)
            except Exception as error:  # the request that follows says what went wrong
                log.debug("warming %s failed: %r", job.key, error)
        greenlet = gevent.spawn(warm)
        self._warming.add(greenlet)
        greenlet.link(self._warming.discard)
        return greenlet

    def _slot(self, pin, quick):
        """The worker ``pin`` had in its lane, else the lane's one with the fewest pins
        used in the last ``PIN_IDLE`` seconds. (By a hash of the id, four videos on two
        workers put three on one in the benchmark, and that one made their segments in turn.)"""
        now = time.monotonic()
        self._pins = {p: (slot, used) for p, (slot, used) in self._pins.items() if now - used < PIN_IDLE}
        if (quick, pin) in self._pins:
            slot = self._pins[quick, pin][0]
        else:
            load = collections.Counter(slot for slot, _ in self._pins.values())
            slot = min(self._lanes[quick], key=lambda s: load[s])
        self._pins[quick, pin] = (slot, now)
        return slot

    def _worker(self, slot):
        if self._workers[slot] is None:
            self._workers[slot] = _Worker(self._context, slot, self.state, quick=slot in self._lanes[True])
        return self._workers[slot]

    def close(self, timeout=5):
        """Stop the workers: each is asked to exit (it finishes the job in hand) and
        killed if it has not within ``timeout`` seconds."""
        gevent.killall(list(self._warming))  # else one could start a worker after this
        for worker in self._workers:
            if worker is not None:
                worker.stop()
        deadline = time.monotonic() + timeout
        for worker in self._workers:
            if worker is not None:
                worker.kill(max(0.0, deadline - time.monotonic()))
        self._workers = [None] * len(self._workers)


@dataclasses.dataclass(frozen=True)
class _Request:
    job: Job
    ahead: tuple  # of Job: made after ``job``, unless a request comes first


class _WorkerLost(Exception):
    pass


class _Worker:
    def __init__(self, context, slot, state, quick):
        self.connection, child = context.Pipe(duplex=True)
        # gevent's patched socketpair is non-blocking, which multiprocessing's framing
        # cannot read; we wait for readability cooperatively, then read one whole reply
        # (a few milliseconds for a segment) in blocking mode.
        os.set_blocking(self.connection.fileno(), True)
        os.set_blocking(child.fileno(), True)
        self.process = context.Process(target=_serve, args=(child, state, quick), name=f"haema-encoder-{slot}", daemon=True)
        self.process.start()
        child.close()
        self.started = False

    def call(self, request, timeout):
        """Send ``request`` and wait ``timeout`` seconds for the answer. A worker's start-up
        does not count against the job's time: it says it is ready first."""
        try:
            if not self.started:
                gevent.socket.wait_read(self.connection.fileno(), timeout=START_TIMEOUT,
                                        timeout_exc=_WorkerLost(f"not started in {START_TIMEOUT} s"))
                self.connection.recv()
                self.started = True
            self.connection.send(request)
            gevent.socket.wait_read(self.connection.fileno(), timeout=timeout,
                                    timeout_exc=_WorkerLost(f"no answer in {timeout} s"))
            reply = self.connection.recv()
        except (EOFError, OSError, BrokenPipeError) as error:
            raise _WorkerLost(f"pipe closed: {error!r}") from None
        if reply.error is not None:
            raise reply.error
        return reply.value

    def stop(self):
        """Ask the worker to exit once its job is done (it reads None as the end)."""
        try:
            self.connection.send(None)
        except OSError:
            pass

    def kill(self, grace=0.0):
        if grace:
            self.process.join(timeout=grace)
        self.connection.close()
        if self.process.is_alive():
            self.process.kill()
        self.process.join(timeout=5)


# ---------------------------------------------------------------------------
# Inside a worker process


def _serve(connection, state_class, quick):
    """Answer requests; between them, make the segments the last request said come next.

    A request that arrives during a prefetch is read at once. If it asks for the
    segment being made (a player fetching sequentially asks for the next one as soon
    as it has this one), that work goes on and answers it; anything else cancels it.

    A ``quick`` worker makes copies and keeps their packets in the heap; the others
    decode, and give freed frames back (memory.py).
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the server's to handle: it stops us
    if quick:
        keep_packets_in_the_heap()
    else:
        give_freed_frames_back()
    state = state_class() if state_class is not None else None
    connection.send("ready")
    made = collections.OrderedDict()  # key → result of a job made ahead
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
            return bool(arrived) and (arrived[0] is None or arrived[0].job.key != making)
        return cancelled

    try:
        while True:
            while pending and not arrived and not connection.poll(0):
                job = pending.popleft()
                if job.key in made:
                    continue
                try:
                    made[job.key] = job.run(state, cancelled=interrupted(job.key))
                except InterruptedError:  # another request came in: it is served first
                    continue
                except Exception:  # a prefetch failure is reported when the segment is asked for
                    log.debug("prefetch of %s failed", job.key, exc_info=True)
                    continue
                while sum(r.size for r in made.values() if isinstance(r, Delivered)) > PREFETCH_BYTES:
                    _discard(made.popitem(last=False)[1])
            try:
                request = arrived.pop() if arrived else connection.recv()
            except (EOFError, OSError):
                return
            if request is None:
                return
            pending.clear()  # a new request, maybe a seek: the old prefetch is stale
            try:
                result = made.pop(request.job.key, None)
                if result is None:
                    result = request.job.run(state)
                reply = Reply(value=result.deliver() if isinstance(result, Delivered) else result)
            except HaemaError as error:
                reply = Reply(error=error)
            except Exception as error:  # any other failure is answered, not fatal to the worker
                reply = Reply(error=HaemaError(f"{type(error).__name__}: {error}", 500))
                traceback.print_exc()
            try:
                connection.send(reply)
            except (EOFError, OSError):
                return
            pending.extend(request.ahead)
    finally:
        for result in made.values():
            _discard(result)


def _discard(result):
    if isinstance(result, Delivered):
        result.discard()
