"""The encoder pool: pinning, prefetch, and surviving workers that die or hang."""
import os
import time

import pytest

from haema.errors import HaemaError
from haema.pool import Pool


# Jobs run in spawned processes, so they are top-level functions of this module.

def whoami(_):
    return os.getpid()


def log_call(path, value, cancelled=None):
    with open(path, "a") as log:
        log.write(f"{value}\n")
    return value


def die_once(marker):
    if not os.path.exists(marker):
        open(marker, "w").close()
        os._exit(1)
    return "second try"


def always_die(_):
    os._exit(1)


def sleep_forever(_):
    time.sleep(3600)


def fail(_):
    raise ValueError("bad input")


@pytest.fixture
def pool():
    pool = Pool(2, prefetch=3, job_timeout=5)
    yield pool
    pool.close()


def test_a_video_is_pinned_to_one_worker(pool):
    pids = {pool.run("video-a", ("k", whoami, (None,))) for _ in range(4)}
    assert len(pids) == 1


def test_videos_played_at_once_spread_over_the_workers(pool):
    pids = [pool.run(video, ("k", whoami, (None,))) for video in ("a", "b", "c", "d")]
    assert sorted(pids.count(pid) for pid in set(pids)) == [2, 2]
    assert [pool.run(video, ("k", whoami, (None,))) for video in ("a", "b", "c", "d")] == pids


def test_prefetched_results_answer_the_next_requests(pool, tmp_path):
    calls = tmp_path / "calls"
    ahead = [(f"seg{i}", log_call, (str(calls), i)) for i in (1, 2, 3)]
    assert pool.run("v", ("seg0", log_call, (str(calls), 0)), ahead=ahead) == 0
    time.sleep(1)  # the worker makes 1, 2, 3 while the player plays 0
    assert calls.read_text().split() == ["0", "1", "2", "3"]
    assert pool.run("v", ("seg1", log_call, (str(calls), 1))) == 1
    assert calls.read_text().split() == ["0", "1", "2", "3"], "segment 1 was made twice"


def slow_until_cancelled(path, cancelled=None):
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if cancelled and cancelled():
            log_call(path, "cancelled")
            raise InterruptedError
        time.sleep(0.01)
    return "slow"


def test_a_new_request_preempts_a_prefetch_in_progress(pool, tmp_path):
    calls = tmp_path / "calls"
    pool.run("v", ("seg0", log_call, (str(calls), 0)), ahead=[("seg1", slow_until_cancelled, (str(calls),))])
    time.sleep(0.5)
    started = time.monotonic()
    assert pool.run("v", ("seg9", log_call, (str(calls), 9))) == 9
    assert time.monotonic() - started < 5, "the seek waited for the prefetch"
    assert calls.read_text().split() == ["0", "cancelled", "9"]


def slow_unless_cancelled(path, seconds, cancelled=None):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if cancelled and cancelled():
            log_call(path, "cancelled")
            raise InterruptedError
        time.sleep(0.01)
    return log_call(path, "made")


def test_a_request_for_the_segment_being_prefetched_joins_that_work(pool, tmp_path):
    calls = tmp_path / "calls"
    ahead = [("seg1", slow_unless_cancelled, (str(calls), 1.5))]
    pool.run("v", ("seg0", log_call, (str(calls), 0)), ahead=ahead)
    time.sleep(0.5)  # the prefetch of seg1 is under way when the player asks for it
    started = time.monotonic()
    assert pool.run("v", ("seg1", slow_unless_cancelled, (str(calls), 1.5))) == "made"
    assert time.monotonic() - started < 1.4, "the request started the segment over"
    assert calls.read_text().split() == ["0", "made"]


def test_a_worker_that_dies_is_replaced_and_the_request_retried(pool, tmp_path):
    assert pool.run("v", ("k", die_once, (str(tmp_path / "marker"),))) == "second try"


def test_a_job_that_always_kills_its_worker_is_a_503(pool):
    with pytest.raises(HaemaError) as error:
        pool.run("v", ("k", always_die, (None,)))
    assert error.value.status == 503
    assert pool.run("v", ("k", whoami, (None,)))  # the pool still works


def test_a_hung_worker_is_replaced(tmp_path):
    pool = Pool(1, job_timeout=1)
    try:
        with pytest.raises(HaemaError):
            pool.run("v", ("k", sleep_forever, (None,)))
        assert pool.run("v", ("k", whoami, (None,)))
    finally:
        pool.close()


def test_an_error_in_a_job_is_answered_not_fatal(pool):
    first = pool.run("v", ("k", whoami, (None,)))
    with pytest.raises(HaemaError, match="bad input"):
        pool.run("v", ("k", fail, (None,)))
    assert pool.run("v", ("k", whoami, (None,))) == first
