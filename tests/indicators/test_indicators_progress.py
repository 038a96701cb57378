"""Output read from a file or a CI log: plain progress lines, no third-party bars or load
reports (unless --verbose), nothing with --quiet, and a --log-file with the lines."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import instructmining

SRC = Path(instructmining.__file__).parents[1]


def _run(*args: object, interval: str = "0") -> subprocess.CompletedProcess:
    """The CLI in a child process with stdout and stderr to pipes (not a terminal)."""
    env = dict(os.environ, PYTHONPATH=str(SRC), INSTRUCTMINING_PROGRESS_INTERVAL=interval)
    code = "from instructmining.cli import entrypoint; entrypoint()"
    return subprocess.run(
        [sys.executable, "-c", code, *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )


@pytest.fixture
def pool_file(tmp_path, sample_pool):
    path = tmp_path / "pool.parquet"
    sample_pool.to_parquet(path, index=False)
    return path


def test_non_terminal_output_has_progress_lines_and_no_third_party_bars(
    tmp_path, pool_file, tiny_reward_model
):
    out = tmp_path / "ind.parquet"
    args = ["indicators", pool_file, "-o", out, "--indicators", "reward,mtld"]
    done = _run(*args, "--reward-model", tiny_reward_model, "--cache-dir", tmp_path / "c")
    assert done.returncode == 0, done.stderr
    text = done.stdout + done.stderr
    n = len(pd_ids(pool_file))
    assert f"reward: {n}/{n} ex (100%)" in text and " ex/s, elapsed " in text and "eta" in text
    assert f"mtld: 0/{n} ex (0%)" in text  # the line that starts a stage
    assert "Loading weights" not in text and "LOAD REPORT" not in text and "\r" not in text
    verbose = _run(
        "--verbose", *args, "--reward-model", tiny_reward_model, "--cache-dir", tmp_path / "e"
    )
    assert verbose.returncode == 0 and "Loading weights" in verbose.stderr


def test_quiet_and_log_file(tmp_path, pool_file):
    log = tmp_path / "logs" / "run.log"
    out = tmp_path / "ind.parquet"
    args = [
        "indicators",
        pool_file,
        "-o",
        out,
        "--indicators",
        "mtld",
        "--cache-dir",
        tmp_path / "c",
    ]
    done = _run("--quiet", "--log-file", log, *args)
    assert done.returncode == 0, done.stderr
    n = len(pd_ids(pool_file))
    assert f"mtld: {n}/{n}" not in done.stderr
    assert f"mtld: {n}/{n} ex (100%)" in log.read_text()
    bad = _run("--log-file", log, "indicators", tmp_path / "nope.parquet", "-o", out)
    assert bad.returncode == 2 and "nope.parquet: no such file" in log.read_text().splitlines()[-1]


def pd_ids(path: Path) -> list[str]:
    import pandas as pd

    return list(pd.read_parquet(path)["id"])
