"""When the watched folder's rescan may start: the pure timekeeping of watch.Pending on
a clock the test sets, then the real watcher on a real folder (and end to end, with the
server and a browser, in test_browser_ux)."""
import contextlib
import os
import threading
import time

from haema.watch import Change, Pending, watch


def test_nothing_pending_means_no_rescan():
    assert Pending(quiet=2, stalled=60).wait(now=100) is None


def test_a_burst_of_changes_is_one_rescan_after_the_folder_goes_quiet():
    pending = Pending(quiet=2, stalled=60)
    for at in (0, 0.5, 1.0):
        pending.add(Change("deleted", f"/lib/{at}.mkv"), at)
    assert pending.wait(now=1.5) == 1.5
    assert pending.wait(now=3.0) == 0
    pending.clear()
    assert pending.wait(now=3.0) is None


def test_a_file_being_copied_is_waited_for_until_it_is_closed():
    pending = Pending(quiet=2, stalled=60)
    pending.add(Change("created", "/lib/Film.mkv"), 0)
    pending.add(Change("modified", "/lib/Film.mkv"), 1)
    assert pending.wait(now=10) == 51  # quiet for long, but still open for writing
    pending.add(Change("closed", "/lib/Film.mkv"), 12)
    assert pending.wait(now=12) == 2
    assert pending.wait(now=14) == 0


def test_a_file_its_writer_created_and_opened_is_waited_for_before_its_first_write():
    """ffmpeg encoding a 1080p MKV: the file is created and opened, then nothing is written
    for longer than the quiet period."""
    pending = Pending(quiet=2, stalled=60)
    pending.add(Change("created", "/lib/Film.mkv"), 0)
    pending.add(Change("opened", "/lib/Film.mkv"), 0)
    assert pending.wait(now=10) == 50
    pending.add(Change("closed", "/lib/Film.mkv"), 30)
    assert pending.wait(now=32) == 0


def test_a_readers_open_is_no_change():
    """The rescan opens every new file, and players open the films they watch: none of it
    may bring another rescan, or hold one back."""
    pending = Pending(quiet=2, stalled=60)
    pending.add(Change("opened", "/lib/Film.mkv"), 0)
    assert pending.wait(now=0) is None
    pending.add(Change("created", "/lib/Other.mkv"), 1)
    pending.clear()  # the rescan, which then opens it
    pending.add(Change("opened", "/lib/Other.mkv"), 2)
    assert pending.wait(now=2) is None


def test_a_writer_that_never_closes_counts_as_done_when_stalled():
    pending = Pending(quiet=2, stalled=60)
    pending.add(Change("modified", "/lib/poster.jpg"), 0)  # a touch: no close follows
    assert pending.wait(now=59) == 1
    assert pending.wait(now=60) == 0


def test_a_file_moved_into_place_or_a_new_folder_needs_no_close():
    pending = Pending(quiet=2, stalled=60)
    pending.add(Change("created", "/lib/.Film.mkv.part"), 0)
    pending.add(Change("moved", "/lib/.Film.mkv.part", destination="/lib/Film.mkv"), 1)
    pending.add(Change("created", "/lib/Shows/New", is_directory=True), 1)
    assert pending.wait(now=3) == 0


def test_a_file_moved_in_from_outside_the_folder_needs_no_close():
    """inotify reports it as created (alone, or inside a folder moved in), and nothing follows."""
    pending = Pending(quiet=2, stalled=60)
    pending.add(Change("created", "/lib/Movies/Film (2020)", is_directory=True), 0)
    pending.add(Change("created", "/lib/Movies/Film (2020)/Film (2020).mkv"), 0)
    assert pending.wait(now=2) == 0


class _Done(Exception):
    """Ends the watching loop from inside the rescan."""


@contextlib.contextmanager
def watching(folder, stalled, on_rescan=lambda: None):
    """The real watcher on ``folder`` in a thread until its first rescan, which calls
    ``on_rescan()``; yields an event the rescan sets."""
    rescanned = threading.Event()

    def rescan():
        on_rescan()
        rescanned.set()
        raise _Done

    def run():
        try:
            watch(str(folder), rescan, quiet=0.1, stalled=stalled)
        except _Done:
            pass

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    time.sleep(0.5)  # the observer's watches are set up
    yield rescanned
    thread.join(10)


def test_inotify_holds_the_rescan_until_a_file_being_written_is_closed(tmp_path):
    """The real watcher on a real folder: a copy paused halfway for many quiet periods is
    rescanned once, whole (checked by order: the file's size when the rescan came)."""
    target, sizes = tmp_path / "Film (2020).mkv", []
    with watching(tmp_path, stalled=60, on_rescan=lambda: sizes.append(os.path.getsize(target))) as rescanned:
        with open(target, "wb") as out:
            out.write(b"\0" * 4096)
            out.flush()
            time.sleep(1.0)  # ten quiet periods with the file still open for writing
            out.write(b"\0" * 4096)
        assert rescanned.wait(30)
    assert sizes == [8192]


def test_inotify_holds_the_rescan_for_a_file_created_and_not_yet_written(tmp_path):
    """A writer that creates its file and is slow to write the first byte (an encoder
    filling its lookahead) is waited for too."""
    target, sizes = tmp_path / "Film (2020).mkv", []
    with watching(tmp_path, stalled=60, on_rescan=lambda: sizes.append(os.path.getsize(target))) as rescanned:
        with open(target, "wb") as out:
            time.sleep(1.0)  # ten quiet periods, the file open and empty
            out.write(b"\0" * 4096)
        assert rescanned.wait(30)
    assert sizes == [4096]


def test_inotify_rescans_a_folder_moved_in_from_outside_once_quiet(tmp_path):
    """``mv ~/Downloads/Film /media/Movies/``: the film is whole, so the rescan comes once
    the folder is quiet, not after the ``stalled`` wait for a close that never comes."""
    library, outside = tmp_path / "library", tmp_path / "downloads" / "Film (2020)"
    library.mkdir()
    outside.mkdir(parents=True)
    (outside / "Film (2020).mkv").write_bytes(b"\0" * 4096)
    with watching(library, stalled=600) as rescanned:
        os.replace(outside, library / "Film (2020)")
        assert rescanned.wait(300), "no rescan before the stalled wait"
