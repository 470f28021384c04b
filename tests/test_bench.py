"""The benchmark suite runs end to end and reports every figure (its numbers are not judged here)."""
import json
import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_smoke_run_writes_every_figure(tmp_path):
    target = tmp_path / "bench.json"
    result = subprocess.run([sys.executable, "scripts/bench.py", "--smoke", "--json", str(target)], cwd=REPO,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    document = json.loads(target.read_text(encoding="utf-8"))
    figures = {row["key"]: row for row in document["figures"]}
    assert figures
    for key, row in figures.items():
        skipped = row["note"] in ("full run only", "ffmpeg not installed")
        assert skipped or isinstance(row["value"], (int, float)), (key, row)
        assert row["met"] in (True, False, None)
    assert document["mode"] == "smoke" and document["machine"]["cpu"]
    for row in figures.values():  # the printed table has a line per figure
        assert row["figure"] in result.stdout
