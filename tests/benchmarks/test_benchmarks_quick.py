"""Each benchmark runs in its --quick mode and prints its table with the machine line (no times
are asserted: a shared CI machine says nothing about speed)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.shared_data]

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT / ".." / "shared" / "data"


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        ("indicators.py", ["ppl+ifd FLOP/s", "passes batched apart vs joint", "status"]),
        ("threads.py", ["two at once, no budget", "two at once, budget split"]),
        ("finetune.py", ["trainer ", "ours / it", "fine-tune FLOP/s", "matmul peak"]),
        ("design.py", ["d-optimal N/4", "perm_p", "heldout top-random"]),
    ],
)
def test_benchmark_quick_mode_prints_its_table(script, expected):
    if not SHARED.exists():
        pytest.skip(f"{SHARED} not found: the benchmarks read the shared data folder")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "src"), *sys.path]))
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / script), "--quick"],
        capture_output=True, text=True, env=env, timeout=1800, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert "machine: " in done.stdout and "threads" in done.stdout
    for text in expected:
        assert text in done.stdout, text
