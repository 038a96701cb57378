"""SIGKILL `instructmining run` at random points of every stage, restart until it completes,
and compare with an uninterrupted run (tools/kill_resume.py; the script itself does 20+ kills)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from hardening_helpers import ROOT

pytestmark = pytest.mark.slow


def test_killed_run_resumes_to_the_same_workspace(tmp_path):
    figures = tmp_path / "figures.json"
    script = ROOT / "tools" / "kill_resume.py"
    options = ["--kills", "5", "--seed", "7", "--small", "--no-stage-kills"]
    done = subprocess.run(
        [sys.executable, str(script), *options, "--work", str(tmp_path), "--json", str(figures)],
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert figures.exists(), done.stderr[-3000:]
    result = json.loads(figures.read_text())
    assert result["findings"] == [], "\n".join(result["findings"])
    assert done.returncode == 0, done.stdout[-3000:]
    assert result["kills"] >= 5
    assert len(result["killed_in_stage"]) >= 3  # kills landed in several stages
    assert result["fine_tunes_in_reference"] > 0
    assert set(result["finished_fine_tunes"]) == {result["fine_tunes_in_reference"]}
    assert result["rewritten_finished_work"] == []
