"""The segment cache: LRU under a byte budget, counted files, picked up after a restart."""
import os
import time

from haema.cache import SegmentCache


def write(cache, key, data):
    """What a worker does (made.py): write the file in place, then the web process counts it."""
    path = cache.path(key)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as out:
        out.write(data)
    cache.add(key, len(data))


def read(cache, key):
    opened = cache.open(key)
    if opened is None:
        return None
    with opened:
        return opened.read()


def test_least_recently_used_segments_go_first(tmp_path):
    cache = SegmentCache(str(tmp_path), limit=3000)
    for name in "abc":
        write(cache, f"v/1/original/{name}.ts", b"x" * 1000)
    read(cache, "v/1/original/a.ts")  # a is now the most recent
    write(cache, "v/1/original/d.ts", b"x" * 1000)
    assert read(cache, "v/1/original/b.ts") is None
    assert all(read(cache, f"v/1/original/{n}.ts") for n in "acd")
    assert cache.total <= cache.limit


def test_the_budget_is_never_exceeded_after_a_write(tmp_path):
    cache = SegmentCache(str(tmp_path), limit=2500)
    for n in range(20):
        write(cache, f"v/1/720p_h264/{n}.ts", os.urandom(700))
        on_disk = sum(f.stat().st_size for f in tmp_path.rglob("*.ts"))
        assert on_disk == cache.total <= 2500


def test_a_file_evicted_while_it_is_sent_stays_readable(tmp_path):
    """A client part-way through a segment when the cache evicts it must get all of it."""
    cache = SegmentCache(str(tmp_path), limit=1500)
    write(cache, "v/1/original/0.ts", b"a" * 1000)
    sending = cache.open("v/1/original/0.ts")
    first = sending.read(10)
    write(cache, "v/1/original/1.ts", b"b" * 1000)  # evicts 0.ts
    assert not (tmp_path / "v/1/original/0.ts").exists()
    assert first + sending.read() == b"a" * 1000
    sending.close()
    assert cache.total == 1000


def test_entries_survive_a_restart_in_their_lru_order(tmp_path):
    cache = SegmentCache(str(tmp_path), limit=10_000)
    write(cache, "v/1/original/0.ts", b"old")
    time.sleep(0.01)  # distinct modification times: the order a restart reads
    write(cache, "v/1/original/1.ts", b"new")
    (tmp_path / "v/1/original/2.ts.123.tmp").write_bytes(b"half")  # a crash mid-write
    again = SegmentCache(str(tmp_path), limit=10_000)
    assert read(again, "v/1/original/0.ts") == b"old"
    assert list(again.entries) == ["v/1/original/1.ts", "v/1/original/0.ts"]
    assert not list(tmp_path.rglob("*.tmp"))


def test_a_disabled_cache_counts_nothing(tmp_path):
    cache = SegmentCache(str(tmp_path / "off"), limit=10_000, enabled=False)
    cache.add("v/1/original/0.ts", 4)
    assert cache.open("v/1/original/0.ts") is None
    assert not (tmp_path / "off").exists()


def test_membership_does_not_read_the_segment(tmp_path):
    cache = SegmentCache(str(tmp_path), limit=10_000)
    write(cache, "v/1/original/0.ts", b"data")
    (tmp_path / "v/1/original/0.ts").unlink()  # membership asks the index, not the disk
    assert "v/1/original/0.ts" in cache and "v/1/original/1.ts" not in cache
    assert cache.open("v/1/original/0.ts") is None and "v/1/original/0.ts" not in cache
