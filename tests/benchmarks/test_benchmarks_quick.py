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


def test_selection_benchmark_quick_mode_prints_each_design_and_way(tmp_path, tiny_model):
    """benchmarks/selection.py --quick on the tiny Llama (its fine-tunes are mechanics only):
    every design times every way of choosing, with differences, fine-tunes and wall time. It
    reads the demo's bundled data only."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "src"), *sys.path]))
    script = str(ROOT / "benchmarks" / "selection.py")
    args = ["--quick", "--root", str(tmp_path), "--base-model", str(tiny_model)]
    done = subprocess.run(
        [sys.executable, script, *args],
        capture_output=True, text=True, env=env, timeout=1800, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert "machine: " in done.stdout
    table = done.stdout[done.stdout.index("machine: ") :].splitlines()[1:]
    assert table[0].split() == ["design", "way", "held-out", "mt_bench", "fine-tunes", "wall", "s"]
    rows = [line.split()[:2] for line in table[1:]]
    ways = ["top", "inside", "refine"]
    assert rows == [[d, w] for d in ("dirichlet", "d-optimal", "selections") for w in ways]
    # 6 subsets and 2 compare seeds; refine adds its one round
    assert [int(line.split()[-2]) for line in table[1:4]] == [8, 8, 9]
    assert "no runs" not in done.stdout
