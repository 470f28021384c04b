"""When the watched folder's rescan may start: the pure timekeeping of watch.Pending,
on a clock the test sets (the real watcher is driven end to end in test_browser_ux)."""
from haema.watch import Change, Pending


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
