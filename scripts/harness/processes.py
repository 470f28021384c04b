"""Ports, and what a running process costs, read from Linux's /proc and CPU clocks."""
import os
import signal
import socket
import subprocess
import time

PAGE = os.sysconf("SC_PAGE_SIZE")


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on now (the kernel's pick)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def listening(port):
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def stop(process, signal_number=signal.SIGTERM, group=False, grace=10):
    """Ask ``process`` to end with ``signal_number`` (its whole process group if ``group``:
    a process started in a session of its own, with its children), and kill it if it has
    not ended ``grace`` seconds later. Nothing if it has ended already."""
    if process is None or process.poll() is not None:
        return

    def send(number):
        if group:
            os.killpg(process.pid, number)
        else:
            process.send_signal(number)
    send(signal_number)
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        send(signal.SIGKILL)
        process.wait()


def cpu_seconds(pid):
    """CPU time the process ``pid`` has used so far, all its threads, those gone included;
    None once it is gone.

    Read from the process's CPU clock (what ``clock_getcpuclockid(pid)`` gives in C):
    nanoseconds, summed over the thread group by the kernel. The two readings this replaces
    each lost something: /proc/PID/stat's utime + stime counts every thread but in 10 ms
    ticks, longer than a copy segment takes; summing /proc/PID/task/*/schedstat is exact
    but only over the threads alive at the time, so the CPU of a thread that has exited (a
    codec's worker threads, once its context is closed) drops out of the total: a process
    whose three threads had each burnt 0.3 s and exited read 0.03 s that way, 0.93 s from
    stat and from this clock."""
    clock = (~pid << 3) | 2  # Linux's CPUCLOCK_SCHED of the whole process (not per thread)
    try:
        return time.clock_gettime(clock)
    except OSError:
        return None


def rss_mb(pid):
    """Resident memory of ``pid`` in MB; None once it is gone."""
    try:
        with open(f"/proc/{pid}/statm") as statm:
            return int(statm.read().split()[1]) * PAGE / (1 << 20)
    except (OSError, IndexError):
        return None


def children(pid):
    """The processes ``pid`` started and that still run (for a Haema server: its encoder
    workers, scan and watching processes), but not multiprocessing's resource tracker."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            if int(fields[1]) != pid:
                continue
            with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                if b"resource_tracker" in cmdline.read():
                    continue
            found.append(int(entry))
        except (OSError, IndexError, ValueError):
            continue
    return sorted(found)
