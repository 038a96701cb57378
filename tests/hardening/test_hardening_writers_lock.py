"""Every command that writes into a folder takes its writer lock: pool build, sample, select and
report refuse while another process writes there, and leave nothing behind."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
from hardening_helpers import DATA, copy_tree, error_line, run_cli, snapshot

HOLD = """
import sys, time
from instructmining.workspace import Workspace
with Workspace(sys.argv[1]).lock():
    print("held", flush=True)
    time.sleep(120)
"""


@pytest.fixture
def held(workspace_template, tmp_path):
    ws = copy_tree(workspace_template, tmp_path / "ws")
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(ws)], stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout.readline().strip() == "held"
    yield ws
    holder.kill()
    holder.wait()


@pytest.mark.parametrize(
    "args",
    [
        ["pool", "build", DATA / "alpaca/alpaca_5000_sample.json", "-o", "{ws}/pool2.parquet"],
        ["sample", "{ws}/pool.parquet", "-o", "{ws}/s.parquet", "--subsets", "2", "--size", "3"],
        [
            "select",
            "{ws}/pool.parquet",
            "--rule",
            "{ws}/rule.json",
            "--top",
            "3",
            "-o",
            "{ws}/x.jsonl",
        ],
        ["report", "{ws}"],
    ],
    ids=["pool build", "sample", "select", "report"],
)
def test_writers_refuse_a_locked_workspace(held, args) -> None:
    before = snapshot(held)
    started = time.monotonic()
    code, _, err = run_cli([str(a).replace("{ws}", str(held)) for a in args])
    assert code == 2
    assert "another instructmining process is writing this workspace" in error_line(err)
    assert snapshot(held) == before
    assert time.monotonic() - started < 60
