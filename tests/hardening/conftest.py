"""Fixtures: a good workspace to aim bad arguments at, and the generated 10 MB line."""

from __future__ import annotations

import pandas as pd
import pytest
from hardening_helpers import DATA

from instructmining.data import build_pool, write_pool
from instructmining.rule import Rule
from instructmining.sampling import sample_subsets
from instructmining.storage import write_json, write_parquet


@pytest.fixture(scope="session")
def workspace_template(tmp_path_factory):
    """pool.parquet (alpaca + dolly samples, 180 examples), subsets.parquet (3 of 4), an
    indicators table of lengths and a rule on them, so commands get past loading their inputs
    without any model."""
    ws = tmp_path_factory.mktemp("template") / "ws"
    pool = build_pool(
        [DATA / "alpaca/alpaca_5000_sample.json", DATA / "dolly/dolly_original_fields_sample.jsonl"]
    ).pool
    write_pool(pool, ws / "pool.parquet")
    subsets, _ = sample_subsets(pool, 3, 4, seed=0)
    write_parquet(subsets, ws / "subsets.parquet")
    lengths = pd.DataFrame(
        {
            "id": pool["id"],
            "input_len": (pool["instruction"] + " " + pool["input"]).str.split().str.len(),
            "output_len": pool["output"].str.split().str.len(),
        }
    )
    write_parquet(lengths, ws / "indicators.parquet")
    columns = ["input_len", "output_len"]
    rule = Rule(
        name="lengths",
        model="ols",
        indicators=columns,
        intercept=0.5,
        coefficients={"input_len": 0.001, "output_len": -0.002},
        definitions={c: {"column": c, "indicator": "length"} for c in columns},
    )
    write_json(rule.to_dict(), ws / "rule.json")
    return ws


@pytest.fixture(scope="session")
def big_line(tmp_path_factory):
    """A 10 MB single line: one JSON record whose response never ends."""
    path = tmp_path_factory.mktemp("big") / "big.jsonl"
    path.write_text('{"instruction": "Describe.", "output": "' + "a" * 10_000_000)
    return path


@pytest.fixture(scope="session")
def generated(tmp_path_factory):
    """Inputs too large or too odd to commit, made at test time ({gen} in the manifest): gzip
    bombs (small files that expand far beyond the limits given with them), a rule nested 100,000
    levels deep, a named pipe and a symbolic-link loop."""
    import gzip
    import os

    folder = tmp_path_factory.mktemp("generated")
    line = b'{"instruction": "Describe.", "output": "' + b"a" * (1 << 20) + b'"}\n'
    with gzip.open(folder / "bomb.jsonl.gz", "wb") as fh:  # 64 MiB of records
        for _ in range(64):
            fh.write(line)
    with gzip.open(folder / "record_bomb.jsonl.gz", "wb") as fh:  # one 16 MiB record
        fh.write(b'{"instruction": "Describe.", "output": "' + b"a" * (16 << 20) + b'"}\n')
    (folder / "deep_rule.json").write_text("[" * 100_000 + "]" * 100_000)
    os.mkfifo(folder / "fifo.jsonl")
    (folder / "loop_a.json").symlink_to(folder / "loop_b.json")
    (folder / "loop_b.json").symlink_to(folder / "loop_a.json")
    return folder
