"""Each selected record carries the indicator values that ranked it and its rank, in strict JSON:
non-finite values rank last and are written as null, the score follows the rank, and the score
table's metadata names the model behind every ranking column."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from instructmining.indicators.options import IndicatorOptions
from instructmining.indicators.output import read_indicators, write_indicators
from instructmining.selection import score_pool, select_top, write_selection
from instructmining.selection.provenance import METADATA_KEY


def _strict(line: str) -> dict:
    """json.loads that refuses NaN, Infinity and -Infinity, as jq and JavaScript do."""

    def refuse(name: str) -> None:
        raise ValueError(f"non-standard JSON constant {name}")

    return json.loads(line, parse_constant=refuse)


def _pool(n: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": [f"e{i}" for i in range(n)],
            "source": "s",
            "instruction": [f"say {i}" for i in range(n)],
            "input": "",
            "output": [f"{i} " * (i + 1) for i in range(n)],
            "system": "",
        }
    )


@pytest.mark.parametrize("output_format", ["alpaca", "messages", "sharegpt"])
def test_records_carry_finite_scores_values_and_ranks(tmp_path, output_format):
    pool = _pool(6)
    # e2 has IFD >= 1 (ranked last by design), e4 an infinite IFD (a perplexity that overflowed)
    ifd = [0.9, 0.5, 1.2, 0.7, math.inf, 0.95]
    indicators = pd.DataFrame({"id": pool["id"], "ifd": ifd})
    ranked = score_pool(pool, "ifd", indicators=indicators, progress=False)
    assert list(ranked["id"]) == ["e5", "e0", "e3", "e1", "e2", "e4"]
    assert ranked.attrs["non_finite_scores"] == 2
    out = tmp_path / "sel.jsonl"
    table_path = write_selection(select_top(pool, ranked, 6), ranked, out, output_format)
    records = [_strict(line) for line in out.read_text().splitlines()]
    assert [r["rank"] for r in records] == [1, 2, 3, 4, 5, 6]
    assert [r["indicators"]["ifd"] for r in records] == [0.95, 0.9, 0.7, 0.5, 1.2, None]
    scores = [r["score"] for r in records]
    assert scores[:4] == [-0.95, -0.9, -0.7, -0.5] and scores[4:] == [None, None]
    assert scores[:4] == sorted(scores[:4])  # rank order is score order, lower first
    meta = json.loads(pq.read_schema(table_path).metadata[METADATA_KEY])
    assert meta["selector"] == "ifd" and meta["non_finite_scores"] == 2
    table = pd.read_parquet(table_path)
    assert list(table.columns) == ["id", "score", "rank", "ifd", "selected"]


def test_a_positive_infinity_of_a_higher_is_better_value_ranks_last_not_first():
    pool = _pool(3)
    indicators = pd.DataFrame({"id": pool["id"], "reward": [1.0, np.inf, 2.0]})
    ranked = score_pool(pool, "reward", indicators=indicators, progress=False)
    assert list(ranked["id"]) == ["e2", "e0", "e1"]


def test_the_score_table_names_the_model_of_each_column(tmp_path):
    pool = _pool(4)
    path = tmp_path / "indicators.parquet"
    values = pd.DataFrame({"id": pool["id"], "output_len": [3.0, 1.0, 4.0, 2.0], "mtld": 1.0})
    write_indicators(values, path, ["length", "mtld"], IndicatorOptions(), pool)
    indicators = read_indicators(path)
    ranked = score_pool(pool, "length", indicators=indicators, progress=False)
    out = tmp_path / "sel.jsonl"
    table_path = write_selection(select_top(pool, ranked, 2), ranked, out)
    meta = json.loads(pq.read_schema(table_path).metadata[METADATA_KEY])
    recorded = indicators.attrs["definitions"]["output_len"]["model"]
    assert recorded  # the tokenizer's identity, with its revision or content hash
    assert meta["indicators"]["output_len"] == {
        "model": recorded,
        "version": indicators.attrs["definitions"]["output_len"]["version"],
        "values_from": str(path),
        "scores": "last response",
    }
    records = [_strict(line) for line in out.read_text().splitlines()]
    assert [r["indicators"] for r in records] == [{"output_len": 4.0}, {"output_len": 3.0}]


def test_select_says_how_many_examples_have_no_finite_score(tmp_path, cli):
    pool = _pool(5)
    pool.to_parquet(tmp_path / "pool.parquet", index=False)
    indicators = pd.DataFrame({"id": pool["id"], "ifd": [0.9, 1.5, 0.2, 0.4, 0.6]})
    indicators.to_parquet(tmp_path / "ind.parquet", index=False)
    out = tmp_path / "out.jsonl"
    code, stdout, err = cli(
        "select", tmp_path / "pool.parquet", "--indicators-file", tmp_path / "ind.parquet",
        "--selector", "ifd", "--top", "5", "-o", out,
    )  # fmt: skip
    assert code == 0, err
    assert "1 of 5 examples have no finite score" in " ".join(stdout.split())
    assert [_strict(line)["score"] for line in out.read_text().splitlines()][-1] is None
