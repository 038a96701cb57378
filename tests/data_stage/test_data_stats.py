"""`pool stats`: examples per source and length percentiles."""

from __future__ import annotations

import numpy as np
import pandas as pd
from data_stage_paths import SAMPLES

from instructmining.data import build_pool, pool_stats


def test_stats_values():
    pool = pd.DataFrame(
        {
            "id": ["a", "b", "c", "d"],
            "source": ["x", "x", "x", "y"],
            "instruction": ["one two", "three", "four five six", "seven"],
            "input": ["", "ctx here", "", ""],
            "output": ["a", "b c", "d e f", "g h i j"],
            "system": ["", "", "", ""],
        }
    )
    stats = pool_stats(pool)
    assert stats.sources.to_dict("list") == {
        "source": ["x", "y"],
        "examples": [3, 1],
        "share": [0.75, 0.25],
    }
    lengths = stats.lengths.set_index("measure")
    assert list(lengths.columns) == ["p5", "p25", "p50", "p75", "p95"]
    assert lengths.loc["output words", "p50"] == np.percentile([1, 2, 3, 4], 50)
    assert lengths.loc["prompt words", "p95"] == np.percentile([2, 3, 3, 1], 95)
    assert lengths.loc["prompt chars", "p5"] == np.percentile([7, 14, 13, 5], 5)


def test_stats_cli(tmp_path, cli):
    out = tmp_path / "pool.parquet"
    files = [SAMPLES / "lima/lima_sample.json", SAMPLES / "dolly/alpagasus_dolly_3k_sample.json"]
    assert cli("pool", "build", *files, "-o", out)[0] == 0
    code, stdout, _ = cli("pool", "stats", out)
    assert code == 0
    for text in ("lima_sample", "alpagasus_dolly_3k_sample", "110", "prompt words", "p95"):
        assert text in stdout
    assert len(build_pool(files).pool) == 110


def test_stats_of_a_missing_pool(tmp_path, cli):
    code, _, stderr = cli("pool", "stats", tmp_path / "none.parquet")
    assert code == 2 and "no such file" in stderr
