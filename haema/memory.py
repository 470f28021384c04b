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
    """
    try:
        ctypes.CDLL(None).mallopt(M_MMAP_THRESHOLD, 128 << 10)
    except (OSError, AttributeError):
        pass
