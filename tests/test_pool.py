"""The encoder pool: pinning, prefetch, and surviving workers that die or hang.

No timings are asserted: jobs write what they do to a log file, and the tests check
the order of events (made, cancelled, made once) and which process answered.
"""
import dataclasses
import os
import resource
import time

import av
import gevent
import pytest

from haema import hls, keyframe_index, probe
from haema.errors import HaemaError
from haema.made import Destination
from haema.pool import Pool
from haema.segment.jobs import SegmentJob
from haema.segment.state import WorkerState

from harness.clips import make_clip

# Jobs run in spawned processes, so they are top-level classes of this module.


@dataclasses.dataclass(frozen=True)
class WhoAmI:
    key: str = "k"
    quick = False

    def run(self, state, cancelled=None):
        return os.getpid()


@dataclasses.dataclass(frozen=True)
class Log:
    """Append ``value`` to the log file and return it."""
    key: str
    path: str
    value: str
    quick = False

    def run(self, state, cancelled=None):
        return log_event(self.path, self.value)


def log_event(path, value):
    with open(path, "a") as log:
        log.write(f"{value}\n")
    return value


def events(path):
    return open(path).read().split() if os.path.exists(path) else []


def wait_for(path, event, timeout=30):
    """Wait until the log shows ``event`` (the worker runs on its own)."""
    deadline = time.monotonic() + timeout
    while event not in events(path):
        assert time.monotonic() < deadline, f"{event!r} never happened: {events(path)}"
        time.sleep(0.01)


@dataclasses.dataclass(frozen=True)
class Slow:
    """Log "started", then work until ``go`` exists (then log "made") unless cancelled first."""
    key: str
    path: str
    go: str
    quick = False

    def run(self, state, cancelled=None):
        log_event(self.path, "started")
        while not os.path.exists(self.go):
            if cancelled and cancelled():
                log_event(self.path, "cancelled")
                raise InterruptedError
            time.sleep(0.01)
        return log_event(self.path, "made")


@dataclasses.dataclass(frozen=True)
class QuickLog(Log):
    quick = True


@dataclasses.dataclass(frozen=True)
class QuickWhoAmI(WhoAmI):
    quick = True


@dataclasses.dataclass(frozen=True)
class DieOnce:
    marker: str
    key: str = "k"
    quick = False

    def run(self, state, cancelled=None):
        if not os.path.exists(self.marker):
            open(self.marker, "w").close()
            os._exit(1)
        return "second try"


@dataclasses.dataclass(frozen=True)
class Die:
    key: str = "k"
    quick = False

    def run(self, state, cancelled=None):
        os._exit(1)


@dataclasses.dataclass(frozen=True)
class Hang:
    key: str = "k"
    quick = False

    def run(self, state, cancelled=None):
        time.sleep(3600)


@dataclasses.dataclass(frozen=True)
class Fail:
    key: str = "k"
    quick = False

    def run(self, state, cancelled=None):
        raise ValueError("bad input")


class Counter:
    """A worker state: it lives as long as its worker."""

    def __init__(self):
        self.jobs = 0


@dataclasses.dataclass(frozen=True)
class Count:
    key: str
    quick = False

    def run(self, state, cancelled=None):
        state.jobs += 1
        return state.jobs


@dataclasses.dataclass(frozen=True)
class PageFaults:
    """Run ``job`` and answer the pages its worker touched for the first time meanwhile
    (minor faults: memory newly mapped, or mapped afresh)."""
    job: object
    key: str = "faults"
    quick = True

    def run(self, state, cancelled=None):
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        self.job.run(state, cancelled).discard()
        return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before


@pytest.fixture
def pool():
    pool = Pool(2, prefetch=3, job_timeout=5)
    yield pool
    pool.close()


def test_a_video_is_pinned_to_one_worker(pool):
    pids = {pool.run("video-a", WhoAmI()) for _ in range(4)}
    assert len(pids) == 1


def test_videos_played_at_once_spread_over_the_workers(pool):
    pids = [pool.run(video, WhoAmI()) for video in ("a", "b", "c", "d")]
    assert sorted(pids.count(pid) for pid in set(pids)) == [2, 2]
    assert [pool.run(video, WhoAmI()) for video in ("a", "b", "c", "d")] == pids


def test_a_quick_job_does_not_wait_behind_a_slow_one(tmp_path):
    """A copy (quick) answered while a transcode (slow) of the same video is still under
    way in its encoder: the two lanes are separate processes."""
    pool = Pool(1, quick=1)
    calls, go = str(tmp_path / "calls"), str(tmp_path / "go")
    try:
        slow = gevent.spawn(pool.run, "v", Slow("seg1", calls, go))
        while "started" not in events(calls):  # the greenlet starts the worker and sends its job
            assert not slow.dead, slow.exception
            gevent.sleep(0.01)
        assert pool.run("v", QuickLog("copy1", calls, "quick")) == "quick"
        open(go, "w").close()
        assert slow.get(timeout=60) == "made"
        assert events(calls) == ["started", "quick", "made"]
        assert pool.run("v", WhoAmI()) != pool.run("v", QuickWhoAmI())
    finally:
        pool.close()


def test_without_quick_workers_quick_jobs_go_to_the_encoders(pool):
    assert pool.run("v", QuickWhoAmI()) == pool.run("v", WhoAmI())


def test_a_worker_keeps_one_state_from_job_to_job():
    pool = Pool(1, state=Counter)
    try:
        assert [pool.run("v", Count(f"seg{i}")) for i in range(3)] == [1, 2, 3]
    finally:
        pool.close()


def test_prefetched_results_answer_the_next_requests(pool, tmp_path):
    calls = str(tmp_path / "calls")
    ahead = [Log(f"seg{i}", calls, str(i)) for i in (1, 2, 3)]
    assert pool.run("v", Log("seg0", calls, "0"), ahead=ahead) == "0"
    wait_for(calls, "3")  # the worker makes 1, 2, 3 while the player plays 0
    assert pool.run("v", Log("seg1", calls, "1")) == "1"
    assert events(calls) == ["0", "1", "2", "3"], "segment 1 was made twice"


def test_a_new_request_preempts_a_prefetch_in_progress(pool, tmp_path):
    calls = str(tmp_path / "calls")
    never = str(tmp_path / "never")
    pool.run("v", Log("seg0", calls, "0"), ahead=[Slow("seg1", calls, never)])
    wait_for(calls, "started")
    assert pool.run("v", Log("seg9", calls, "9")) == "9"
    assert events(calls) == ["0", "started", "cancelled", "9"]


def test_a_request_for_the_segment_being_prefetched_joins_that_work(pool, tmp_path):
    calls, go = str(tmp_path / "calls"), str(tmp_path / "go")
    pool.run("v", Log("seg0", calls, "0"), ahead=[Slow("seg1", calls, go)])
    wait_for(calls, "started")  # the prefetch of seg1 is under way when the player asks for it
    # ``go`` lets it finish; the greenlet runs only once pool.run has sent the request and waits
    gevent.spawn(lambda: open(go, "w").close())
    assert pool.run("v", Slow("seg1", calls, go)) == "made"
    assert events(calls) == ["0", "started", "made"], "the request started the segment over"


def test_a_worker_that_dies_is_replaced_and_the_request_retried(pool, tmp_path):
    assert pool.run("v", DieOnce(str(tmp_path / "marker"))) == "second try"


def test_a_job_that_always_kills_its_worker_is_a_503(pool):
    with pytest.raises(HaemaError) as error:
        pool.run("v", Die())
    assert error.value.status == 503
    assert pool.run("v", WhoAmI())  # the pool still works


def test_a_hung_worker_is_replaced():
    pool = Pool(1, job_timeout=1)
    try:
        hung = pool.run("v", WhoAmI())
        with pytest.raises(HaemaError):
            pool.run("v", Hang())
        assert pool.run("v", WhoAmI()) != hung
        assert not os.path.exists(f"/proc/{hung}"), "the hung worker was left running"
    finally:
        pool.close()


def test_an_error_in_a_job_is_answered_not_fatal(pool):
    first = pool.run("v", WhoAmI())
    with pytest.raises(HaemaError, match="bad input"):
        pool.run("v", Fail())
    assert pool.run("v", WhoAmI()) == first


def test_close_lets_the_workers_exit(tmp_path):
    pool = Pool(2)
    pool.start()
    pids = [pool.run(video, WhoAmI()) for video in ("a", "b")]
    pool.close()
    assert not any(os.path.exists(f"/proc/{pid}") for pid in pids)


def test_the_copy_worker_keeps_big_packets_in_its_heap(tmp_path):
    """A 1080p keyframe is hundreds of KB, and a copy allocates it up to three times on
    its way into MPEG-TS. The decoding workers map every allocation that big on its own,
    so a freed frame goes back to the OS; in the copy worker that made each packet a fresh
    mapping, every page of it faulted in anew: 880 faults per 1080p segment, a fifth of
    its CPU. The copy worker's heap keeps them: once warm, a segment maps nothing new."""
    path = tmp_path / "lossless.mp4"  # every frame lossless: each packet bigger than 128 KB
    make_clip(path, seconds=6, fps=6, gop=6, width=960, height=540, bframes=0, options={"qp": "0"})
    with av.open(str(path)) as container:
        smallest = min(p.size for p in container.demux(video=0) if p.size)
    info, keyframes = probe.probe(str(path)), keyframe_index.read_keyframes(str(path))
    timeline = hls.plan_timeline(keyframes, 4.0, 2.0, frame_duration=hls.frame_step(info))
    variant = hls.plan_variants(info)[0]
    copy = SegmentJob(key="copy", destination=Destination(cache_file=None, spool=str(tmp_path)),
                      path=str(path), info=info, keyframes=keyframes, segment=hls.segment(timeline, variant, 1),
                      settings=None, variant=variant, audio_index=hls.muxed_audio(info))
    assert copy.quick and smallest > 128 << 10
    pool = Pool(1, quick=1, state=WorkerState)
    try:
        for _ in range(3):  # the file opened, the heap grown to what a segment needs
            pool.run("v", PageFaults(copy))
        faults = [pool.run("v", PageFaults(copy)) for _ in range(3)]
    finally:
        pool.close()
    assert min(faults) < smallest // os.sysconf("SC_PAGE_SIZE")  # less than one packet's pages
