"""Memory of the processes that decode video: encoder workers and the scanning process."""
import ctypes

M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter (malloc.h)


def give_freed_frames_back():
    """Map every big allocation on its own, so a freed video frame is returned to the OS.

    glibc raises its mmap threshold after the first multi-megabyte buffer is freed, so
    later frames come from the heap, and a process's RSS stays near the peak of its
    biggest job, or creeps up as the heap fragments. A fixed threshold keeps them mapped
    (an encoder worker making 720p segments from 1080p: 151 MB → 66 MB between segments,
    peak 213 → 172 MB). Not glibc: nothing to do.

    The copy worker keeps it too, though it pays for it: a 1080p keyframe packet is
    copied twice on its way into MPEG-TS, each copy a fresh mapping faulted in anew
    (11.3 against 7.6 ms of CPU per copy segment with a 2 MB threshold). A higher fixed
    threshold fragments the heap as files are opened and closed: copying at random from
    forty 30-minute MP4s, 6,000 segments took the worker 52 → 72 MB with this setting,
    58 → 90 MB at 2 MB, and 52 → 550 MB at 512 KB, where the demuxer's growing index
    arrays stay in the heap.
    """
    try:
        ctypes.CDLL(None).mallopt(M_MMAP_THRESHOLD, 128 << 10)
    except (OSError, AttributeError):
        pass
