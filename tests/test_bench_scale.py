"""bench/scale.py --quick runs end to end and prints its table with a figure in every column."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NUMBER = r"\d[\d,]*(?:\.\d+)?"
# what each column holds (bench/scale.py COLUMNS); no figure is compared with any bound
CELLS = [
    rf"{NUMBER}/{NUMBER}/{NUMBER}",  # nodes/services/alarms
    NUMBER,  # ready s
    rf"{NUMBER} \({NUMBER}\)",  # RSS (peak)
    rf"{NUMBER}\|{NUMBER} \({NUMBER}x\)",  # single alarms/s, gateway|naive (ratio)
    rf"{NUMBER}\|{NUMBER} \({NUMBER}x\)",  # 100-alarm batches
    rf"{NUMBER}\|{NUMBER}",  # freshness p50|p99
    NUMBER,  # CPU per change
    NUMBER,  # database size
    rf"{NUMBER}\|{NUMBER}",  # restart s, warm|cold
]


@pytest.mark.skipif(shutil.which("curl") is None, reason="bench/scale.py loads with curl")
def test_quick_mode_prints_a_table_of_figures(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "scale.py"), "--quick", "--timeout", "300",
         "--keep", str(tmp_path)],
        capture_output=True, text=True, timeout=1200, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("nodes/svcs/alarms"))
    row = re.split(r"\s{2,}", lines[header + 1].strip())
    assert len(row) == len(CELLS), lines[header : header + 2]
    for cell, pattern in zip(row, CELLS, strict=True):
        assert re.fullmatch(pattern, cell), f"{cell!r} is not a figure ({pattern})"
    assert "not ready" not in done.stdout
