"""glibc's malloc tuned for what a process allocates: decoded frames, or packets only."""
import ctypes

M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter (malloc.h)


def give_freed_frames_back():
    """Map every big allocation on its own, so a freed video frame is returned to the OS.

    For processes that decode (encoder workers, the scanning process). glibc raises its
    mmap threshold after the first multi-megabyte buffer is freed, so later frames come
    from the heap, and a process's RSS stays near the peak of its biggest job, or creeps
    up as the heap fragments. A fixed threshold keeps them mapped (an encoder worker
    making 720p segments from 1080p: 151 MB → 66 MB between segments, peak 213 →
    172 MB). Not glibc: nothing to do.
    """
    _mallopt(M_MMAP_THRESHOLD, 128 << 10)


def reuse_packet_buffers():
    """Serve packet-sized buffers from the heap, where the next segment reuses them.

    For processes that only move packets (the quick workers' copies). With the frame
    setting above, every large packet was a fresh mapping, its pages faulted in anew:
    a 1080p keyframe is copied twice on its way into MPEG-TS (Annex B, then an access
    unit delimiter), 600 KB each time. A 2 MB threshold still maps what is frame-sized.
    15,000 copy segments over 12 open files, CPU per segment and RSS from start to end:
    9.5 ms and 49 → 64 MB with the frame setting, 6.6 ms and 50 → 77 MB with this one,
    5.8 ms and 52 → 92 MB with glibc's own sliding threshold.
    """
    _mallopt(M_MMAP_THRESHOLD, 2 << 20)


def _mallopt(parameter, value):
    try:
        ctypes.CDLL(None).mallopt(parameter, value)
    except (OSError, AttributeError):
        pass
