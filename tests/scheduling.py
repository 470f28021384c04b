"""Keep the test run out of the real-time scheduling classes.

Run as root, SVT-AV1 (FFmpeg's ``libsvtav1``, which harness/clips.py uses for AV1 clips)
puts the thread that opens it into SCHED_FIFO at priority 99, and every process the run
starts afterwards inherits that: test servers, Chromium, GStreamer. On a 2-core machine
one spinning Chromium renderer at that priority starves everything else, pytest-timeout's
alarm included, and a CI run hung that way until its 90-minute limit. Without the
CAP_SYS_NICE capability the request is refused (SVT-AV1 logs a warning and encodes on).
"""
import ctypes
import os

CAP_SYS_NICE = 23
_LINUX_CAPABILITY_VERSION_3 = 0x20080522
PR_CAPBSET_DROP = 24


class _Header(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _Data(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def forbid_realtime():
    """Drop CAP_SYS_NICE from this thread and from what the programs it starts may hold.

    Capabilities belong to threads, so this runs before the run starts any; threads made
    later inherit the reduced set. Where the capability is not held (CI as a plain user),
    there is nothing to drop, and the kernel already refuses real-time requests.
    """
    if os.sched_getscheduler(0) != os.SCHED_OTHER:
        os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))
    libc = ctypes.CDLL(None, use_errno=True)
    header, data = _Header(_LINUX_CAPABILITY_VERSION_3, 0), (_Data * 2)()
    if libc.capget(ctypes.byref(header), data) != 0:
        raise OSError(ctypes.get_errno(), "capget")
    if not data[0].permitted & (1 << CAP_SYS_NICE):
        return
    # the bounding set first: dropping from it needs CAP_SETPCAP, which root holds
    if libc.prctl(PR_CAPBSET_DROP, CAP_SYS_NICE, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP, CAP_SYS_NICE)")
    for field in ("effective", "permitted", "inheritable"):
        setattr(data[0], field, getattr(data[0], field) & ~(1 << CAP_SYS_NICE))
    if libc.capset(ctypes.byref(header), data) != 0:
        raise OSError(ctypes.get_errno(), "capset")
