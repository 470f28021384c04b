"""The run stays in the ordinary scheduling class, whatever an encoder asks for."""
import os
import subprocess
import sys

from harness.clips import make_clip


def test_an_av1_clip_leaves_the_run_in_the_ordinary_class(tmp_path):
    # SVT-AV1 asks for SCHED_FIFO 99 when it is opened by root (tests/scheduling.py)
    make_clip(tmp_path / "av1.mkv", seconds=0.5, video_codec="libsvtav1", audio_codec=None)
    assert os.sched_getscheduler(0) == os.SCHED_OTHER


def test_a_program_the_run_starts_cannot_take_a_realtime_class():
    child = subprocess.run([sys.executable, "-c", """if True:
        import os
        try:
            os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(1))
        except PermissionError:
            print("refused")
        else:
            print("granted")"""], capture_output=True, text=True, check=True)
    assert child.stdout.strip() == "refused"
