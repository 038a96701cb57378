"""A run killed by SIGKILL and restarted keeps its finished batches and ends with equal values."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from instructmining.indicators import IndicatorOptions, run_indicators
from instructmining.indicators.cache import FILE_NAME

pytestmark = pytest.mark.slow


def _stored(cache: Path) -> int:
    try:
        with sqlite3.connect(cache / FILE_NAME, timeout=30) as db:
            return db.execute("SELECT COUNT(*) FROM vals").fetchone()[0]
    except sqlite3.OperationalError:  # not created yet
        return 0


def test_sigkill_mid_run_then_rerun(sample_pool, tmp_path):
    pool = sample_pool.head(7)
    pool_path = tmp_path / "pool.parquet"
    pool.to_parquet(pool_path)
    cache = tmp_path / "cache"
    command = [
        sys.executable, "-c", "from instructmining.cli import entrypoint; entrypoint()",
        "indicators", str(pool_path), "-o", str(tmp_path / "out.parquet"),
        "--indicators", "ppl", "--batch-size", "1", "--fp32", "--cache-dir", str(cache),
    ]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 300
    while _stored(cache) < 2 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert process.poll() is None, "the run ended before it could be killed"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    done = _stored(cache)
    assert 2 <= done < len(pool)
    assert not (tmp_path / "out.parquet").exists()  # no half-written output

    options = IndicatorOptions(bf16=False, batch_size=1)
    resumed = run_indicators(pool, "ppl", options, cache_dir=cache, progress=False)
    assert resumed.stats[0].cached == done
    assert resumed.stats[0].computed == len(pool) - done
    again = run_indicators(pool, "ppl", options, cache_dir=cache, progress=False)
    assert again.stats[0].computed == 0

    fresh = run_indicators(pool, "ppl", options, cache_dir=tmp_path / "fresh", progress=False)
    pd.testing.assert_frame_equal(resumed.table, fresh.table, rtol=1e-6)
