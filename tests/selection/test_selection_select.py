"""Scoring, ranking, baselines, sizes and the selection files."""

from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd
import pytest

from instructmining.errors import UserError
from instructmining.rule import Rule
from instructmining.selection import (
    SELECTORS,
    Selector,
    ensure_indicators,
    get_selector,
    resolve_size,
    score_pool,
    select_top,
    source_counts,
    write_selection,
)


def make_pool(n: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": [f"e{i}" for i in range(n)],
            "source": ["a" if i % 3 else "b" for i in range(n)],
            "instruction": [f"do {i}" for i in range(n)],
            "input": "",
            "output": [f"done {i}" for i in range(n)],
            "system": "",
        }
    )


RULE = Rule(
    name="toy",
    model="ols",
    indicators=["reward", "ppl"],
    intercept=1.0,
    coefficients={"reward": -0.5, "ppl": 0.1},
)


@pytest.fixture
def small():
    pool = make_pool(5)
    indicators = pd.DataFrame(
        {
            "id": ["e0", "e1", "e2", "e3", "e4"],
            "reward": [1.0, 3.0, 0.0, 2.0, 1.0],
            "ppl": [2.0, 5.0, 1.0, 4.0, 2.0],
            "ifd": [0.9, 0.5, 1.2, 0.7, 0.95],
            "output_len": [10, 50, 30, 40, 20],
        }
    )
    return pool, indicators


def test_rule_ranking_checked_by_hand(small):
    pool, indicators = small
    # scores: e0 1-0.5+0.2=0.7, e1 1-1.5+0.5=0.0, e2 1+0.1=1.1, e3 1-1+0.4=0.4, e4 = e0 = 0.7
    ranked = score_pool(pool, "rule", rule=RULE, indicators=indicators, progress=False)
    assert list(ranked["id"]) == ["e1", "e3", "e0", "e4", "e2"]  # tie e0/e4 broken by id
    np.testing.assert_allclose(ranked["score"], [0.0, 0.4, 0.7, 0.7, 1.1])
    assert list(ranked["rank"]) == [1, 2, 3, 4, 5]
    selected = select_top(pool, ranked, 2)
    assert list(selected["id"]) == ["e1", "e3"]
    assert list(selected.columns) == ["id", "source", "instruction", "input", "output", "system"]


class _Fixed(Selector):
    """Scores given in advance (NaN = no score)."""

    def score(self, table, seed=0):
        return np.array([np.nan, 1.0, 0.0, np.nan, 2.0])


def test_missing_scores_rank_last_and_cannot_be_selected(small):
    pool, _ = small
    ranked = score_pool(pool, _Fixed(), progress=False)
    assert list(ranked["id"]) == ["e2", "e1", "e4", "e0", "e3"]
    assert list(select_top(pool, ranked, 3)["id"]) == ["e2", "e1", "e4"]
    with pytest.raises(UserError, match="only 3 examples have a score"):
        select_top(pool, ranked, 4)


def test_baseline_directions(small):
    pool, indicators = small
    by = {
        name: list(score_pool(pool, name, indicators=indicators, progress=False)["id"])
        for name in ("reward", "ppl", "ifd", "length")
    }
    assert by["reward"] == ["e1", "e3", "e0", "e4", "e2"]  # higher reward first
    assert by["ppl"] == ["e2", "e0", "e4", "e3", "e1"]  # lower perplexity first
    assert by["ifd"] == ["e4", "e0", "e3", "e1", "e2"]  # higher IFD first, IFD >= 1 last
    assert by["length"] == ["e1", "e3", "e2", "e4", "e0"]  # longer output first


def test_judge_and_unieval_rank_higher_first(small):
    pool, _ = small
    values = pd.DataFrame(
        {
            "id": ["e0", "e1", "e2", "e3", "e4"],
            "judge": [2.5, 4.9, 1.2, 1.0, 3.0],
            "unieval_nat": [0.9, 0.1, 0.5, 0.6, 0.2],
            "unieval_coh": [0.9, 0.2, 0.5, 0.6, 0.9],
            "unieval_und": [0.9, 0.3, 0.5, 0.0, 0.9],  # means .9, .2, .5, .4, .667
        }
    )
    judged = score_pool(pool, "judge", indicators=values, progress=False)
    assert list(judged["id"]) == ["e1", "e4", "e0", "e2", "e3"]  # the expected 1-5 rating
    assert get_selector("unieval").columns() == ["unieval_nat", "unieval_coh", "unieval_und"]
    mean = score_pool(pool, "unieval", indicators=values, progress=False)
    assert list(mean["id"]) == ["e0", "e4", "e2", "e3", "e1"]


def test_random_selector_is_seeded(small):
    pool, _ = small
    pool = make_pool(50)
    a = score_pool(pool, "random", seed=1, progress=False)["id"]
    b = score_pool(pool, "random", seed=1, progress=False)["id"]
    c = score_pool(pool, "random", seed=2, progress=False)["id"]
    assert list(a) == list(b) and list(a) != list(c)


def test_registry_names_and_did_you_mean():
    assert SELECTORS == (
        "rule", "random", "mixture", "ifd", "reward", "length", "ppl", "mtld", "knn", "judge",
        "unieval",
    )  # fmt: skip
    assert get_selector("knn", knn_k=10).columns() == ["knn10"]
    with pytest.raises(UserError, match="did you mean 'reward'"):
        get_selector("rewrd")
    with pytest.raises(UserError, match="needs a rule"):
        get_selector("rule")
    with pytest.raises(UserError, match="needs a fitted rule with a mixture fit"):
        get_selector("mixture")


def test_sizes():
    assert resolve_size(10, top=3) == 3
    assert resolve_size(10, fraction=0.25) == 3  # 2.5 rounds half up
    assert resolve_size(10, fraction=1.0) == 10
    assert resolve_size(10, fraction=0.01) == 1
    for kwargs, message in [
        ({"top": 0}, "positive"),
        ({"top": -2}, "positive"),
        ({"top": 11}, "exceeds the pool of 10"),
        ({"fraction": 0.0}, r"\(0, 1\]"),
        ({"fraction": 1.5}, r"\(0, 1\]"),
        ({}, "exactly one"),
        ({"top": 2, "fraction": 0.5}, "exactly one"),
    ]:
        with pytest.raises(UserError, match=message):
            resolve_size(10, **kwargs)


def test_precomputed_indicators_are_used_without_computing(small):
    pool, indicators = small
    got = ensure_indicators(pool, ["reward"], indicators.sample(frac=1, random_state=0))
    assert list(got["id"]) == list(pool["id"])
    assert list(got["reward"]) == [1.0, 3.0, 0.0, 2.0, 1.0]


def test_write_selection_files_and_counts(small, tmp_path):
    pool = make_pool(30)
    ranked = score_pool(pool, "random", seed=0, progress=False)
    selected = select_top(pool, ranked, 12)
    out = tmp_path / "sel" / "selected.jsonl"
    table_path = write_selection(selected, ranked, out)
    assert table_path == tmp_path / "sel" / "selected.scores.parquet"
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in records] == list(ranked["id"].head(12))
    fields = {"id", "source", "instruction", "input", "output", "system", "score", "rank"}
    assert set(records[0]) == fields | {"indicators"} and records[0]["indicators"] == {}
    assert [r["rank"] for r in records] == list(range(1, 13))
    table = pd.read_parquet(table_path)
    assert len(table) == 30 and table["selected"].sum() == 12
    assert list(table.columns) == ["id", "score", "rank", "selected"]
    counts = source_counts(pool, selected).set_index("source")
    assert counts["pool"].to_dict() == {"a": 20, "b": 10}
    assert counts["selected"].sum() == 12
    assert counts["selected_share"].sum() == pytest.approx(1.0)
    assert not [p for p in os.listdir(out.parent) if p.endswith(".tmp")]


def test_write_selection_is_all_or_nothing(tmp_path):
    pool = make_pool(10)
    ranked = score_pool(pool, "random", progress=False)
    out = tmp_path / "selected.jsonl"
    out.write_text("old\n")
    broken = select_top(pool, ranked, 3).drop(columns=["system"])
    with pytest.raises(KeyError):
        write_selection(broken, ranked, out)
    assert out.read_text() == "old\n"
    assert not (tmp_path / "selected.scores.parquet").exists()
    assert os.listdir(tmp_path) == ["selected.jsonl"]
