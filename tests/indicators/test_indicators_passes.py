"""Separate passes batched by their own lengths: same values as joint batches, less padding."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from instructmining.indicators import IndicatorOptions, run_indicators
from instructmining.indicators.base import RunContext, plan_batches
from instructmining.indicators.cache import ValueCache
from instructmining.indicators.perplexity import PerplexityIndicator
from instructmining.indicators.registry import instantiate


def _prepared(pool: pd.DataFrame, model: str) -> PerplexityIndicator:
    options = IndicatorOptions(lm=model, device="cpu")
    indicator = instantiate(["ppl", "ifd"], options)[0]
    indicator.prepare(pool, pool, RunContext(options=options, cache=ValueCache(None)))
    return indicator


def _padding(indicator, pool, plan) -> int:
    per_pass = indicator.pass_lengths(pool)
    return sum(
        int(per_pass[c][pos].max() * len(pos) - per_pass[c][pos].sum())
        for pos, columns in plan
        for c in columns
    )


def test_each_pass_is_planned_once_per_missing_cell_with_less_padding(sample_pool, tiny_model):
    indicator = _prepared(sample_pool, str(tiny_model))
    missing = np.ones((len(sample_pool), 2), dtype=bool)
    missing[::3, 0] = False  # some rows already have ppl, as after an interrupted run
    plan = plan_batches(indicator, sample_pool, missing, batch_size=4)
    cells = sorted((int(p), c) for positions, columns in plan for p in positions for c in columns)
    stored = indicator.stored()
    assert cells == sorted((int(i), stored[j]) for i, j in zip(*np.nonzero(missing), strict=True))
    assert all(len(columns) == 1 for _, columns in plan)

    joint = _prepared(sample_pool, str(tiny_model))
    joint.pass_lengths = lambda todo: None  # both passes in one batch, as before: the plain path
    joint_plan = plan_batches(joint, sample_pool, missing, batch_size=4)
    assert _padding(indicator, sample_pool, plan) < _padding(indicator, sample_pool, joint_plan)


@pytest.mark.parametrize("bf16", [False, True])
def test_values_equal_the_joint_batches(sample_pool, tiny_model, tmp_path, monkeypatch, bf16):
    """fp32 within 1e-5 (padding only); bf16 within the 5% the bf16-vs-fp32 test allows."""
    options = IndicatorOptions(lm=str(tiny_model), device="cpu", batch_size=4, bf16=bf16)
    names = ["ppl", "ifd"]
    separate = run_indicators(sample_pool, names, options, tmp_path / "a", False)
    monkeypatch.setattr(PerplexityIndicator, "pass_lengths", lambda self, todo: None)
    joint = run_indicators(sample_pool, names, options, tmp_path / "b", False)
    assert separate.stats[0].computed == joint.stats[0].computed == len(sample_pool)
    assert separate.stats[0].batches > joint.stats[0].batches  # two passes planned apart
    relative = ((separate.table[names] - joint.table[names]) / joint.table[names]).abs()
    assert relative.max().max() < (0.05 if bf16 else 1e-5)
