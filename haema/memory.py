"""Memory of the processes that read video: which allocations glibc maps on their own.

glibc serves an allocation above its mmap threshold with a mapping of its own, returned
to the OS when freed and faulted in afresh (a page fault per 4 KB) when made again;
smaller ones come from the heap, whose freed memory the process keeps for reuse. By
default the threshold moves up to the biggest block freed, so a process's RSS stays near
the peak of its biggest job, or creeps up as the heap fragments. Each setting below is
fixed, and suits what its process allocates. Not glibc: nothing to do.
"""
import ctypes

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters (malloc.h)
FRAME_THRESHOLD = 128 << 10  # glibc's own starting value
PACKET_THRESHOLD = 2 << 20
SEGMENT_PACKETS = 8 << 20  # the free heap a copy worker keeps


def give_freed_frames_back():
    """For the processes that decode: every video frame mapped on its own, so a freed
    one goes back to the OS (an encoder worker making 720p segments from 1080p: 151 MB →
    66 MB between segments, peak 213 → 172 MB)."""
    _mallopt(M_MMAP_THRESHOLD, FRAME_THRESHOLD)


def keep_packets_in_the_heap():
    """For the worker that only copies packets: no decoded frames to give back, and a
    1080p keyframe packet (400-600 KB) is allocated three times on its way into MPEG-TS
    (read, Annex B conversion, and for a segment's first its parameter sets). Mapped on
    their own, those were 880 page faults per segment; in the heap, none.

    The threshold stays fixed, above such packets but below the demuxer's biggest index
    arrays, which grow as a file is opened: in the heap they fragmented it (52 → 550 MB
    at 512 KB, before PyAV's demux leak was worked around).

    A segment's video packets are all held until it is muxed (its decode times come from
    all their presentation times): 4 MB for 4 s at 8 Mbit/s. Freed, they lie at the top of
    the heap, which glibc gives back above 128 KB and the next segment faults in again;
    the worker keeps up to ``SEGMENT_PACKETS`` of it (at 32 MB: 15 MB more memory than
    at 8 for 2% less CPU).

    Copying 8,000 segments at random from forty 30-minute files, through the real pool,
    against the frames' threshold: from MP4s, 23% less CPU, and 77-94 MB of anonymous
    memory against 63; from Matroska, 28% less CPU, and 29-33 MB against 26-29. Neither
    grew over the run.
    """
    _mallopt(M_MMAP_THRESHOLD, PACKET_THRESHOLD)
    _mallopt(M_TRIM_THRESHOLD, SEGMENT_PACKETS)


def _mallopt(parameter, value):
    try:
        ctypes.CDLL(None).mallopt(parameter, value)
    except (OSError, AttributeError):
        pass
