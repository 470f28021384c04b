"""The baseline other servers give: one ``ffmpeg`` process per segment (Debian's ffmpeg;
without it the baseline figures are skipped)."""
import os
import shutil
import subprocess
import time

FFMPEG = shutil.which("ffmpeg")


def ffmpeg_segment(source, start, duration, variant, out_dir):
    """One ``ffmpeg -ss S -t D -i src … -f mpegts`` process, as other servers run per segment."""
    target = os.path.join(out_dir, "baseline.ts")
    codec = ["-c", "copy"] if variant == "original" else \
        ["-c:v", "libx264", "-preset", "veryfast", "-s", _size(variant), "-c:a", "aac"]
    command = [FFMPEG, "-hide_banner", "-loglevel", "error", "-nostdin", "-y", "-ss", f"{start:.6f}",
               "-t", f"{duration:.6f}", "-i", source, *codec, "-f", "mpegts", target]
    started = time.perf_counter()
    subprocess.run(command, check=True)
    return time.perf_counter() - started


def _size(variant):
    height = int(variant.split("p")[0])
    return f"{round(height * 16 / 9 / 2) * 2}x{height}"
