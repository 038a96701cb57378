"""Intervals, noise estimates and the tolerant rule.json reader."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from instructmining.report.rule_view import rule_view
from instructmining.report.stats import mean_ci, measured_log_loss, predict, seed_noise


def test_mean_ci_matches_scipy() -> None:
    values = np.array([2.71, 2.74, 2.69, 2.73])
    ci = mean_ci(values)
    low, high = stats.t.interval(0.95, 3, loc=values.mean(), scale=stats.sem(values))
    assert (ci.low, ci.high) == pytest.approx((low, high))
    assert np.isnan(mean_ci(values[:1]).low)


def test_seed_noise_pools_within_subset_variance() -> None:
    runs = pd.DataFrame({
        "subset_id": ["a", "a", "b", "b", "b", "c", "__base__", "__base__"],
        "eval_loss": [1.0, 1.2, 2.0, 2.1, 2.2, 9.0, 5.0, 7.0],
    })  # fmt: skip
    pooled = np.sqrt((0.02 * 1 + 0.01 * 2) / 3)
    assert seed_noise(runs) == pytest.approx(pooled)
    assert np.isnan(seed_noise(runs[runs["subset_id"] == "c"]))
    assert measured_log_loss(runs).to_dict() == pytest.approx(
        {"a": np.log(1.1), "b": np.log(2.1), "c": np.log(9.0)}
    )


def test_rule_view_reads_the_fit_stage_format() -> None:
    rule = rule_view({
        "format": "instructmining-rule/1", "model": "ridge",
        "indicators": [{"column": "reward", "model": "rm-1"}, {"column": "mtld"}],
        "intercept": 1.0,
        "coefficients": {"reward": {"raw": -0.5, "ci95": [-0.7, -0.3], "vif": 1.2},
                         "mtld": {"raw": 0.01}},
        "ols": {"coefficients": {"reward": {"standardised": -0.2, "se": 0.1}}},
        "fit": {"r2": 0.6, "f_p": 0.01},
        "selection": {"top": [{"rank": 1, "indicators": ["reward", "mtld"], "cv_r2": 0.4}]},
        "eval_hash": "e1", "config_hash": "c1",
    })  # fmt: skip
    assert rule.indicators == ["reward", "mtld"] and rule.model == "ridge"
    assert rule.coefficients["reward"] == {
        "estimate": -0.5, "ci_low": -0.7, "ci_high": -0.3, "vif": 1.2
    }  # fmt: skip
    assert rule.ols_coefficients["reward"] == {"standardised": -0.2, "se": 0.1}
    assert rule.definitions == {"reward": {"model": "rm-1"}}
    assert rule.stats == {"r2": 0.6, "f_p": 0.01}
    assert rule.combinations[0]["indicators"] == "reward + mtld"
    assert rule.eval == {"eval_hash": "e1", "config_hash": "c1"}
    means = pd.DataFrame({"reward": [0.0, 2.0], "mtld": [100.0, 0.0]}, index=["s1", "s2"])
    assert predict(rule, means).tolist() == pytest.approx([2.0, 0.0])


def test_rule_view_reads_other_shapes() -> None:
    rule = rule_view({
        "indicators": ["reward"],
        "coefficients": [{"name": "Intercept", "coef": 1.0}, {"name": "reward", "estimate": -0.5,
                         "ci_low": -1.0, "ci_high": 0.0, "p": 0.04}],
        "stats": {"r2": 0.5},
        "ablation": [{"set": ["reward", "mtld"], "r2": 0.5}],
        "model_comparison": {"ols": 0.4, "gbm": 0.1},
        "eval": {"name": "self-instruct"},
    })  # fmt: skip
    assert rule.intercept == 1.0 and rule.indicators == ["reward"]
    assert rule.coefficients["reward"]["ci_low"] == -1.0
    assert rule.stats == {"r2": 0.5} and rule.eval == {"name": "self-instruct"}
    assert rule.ablation[0]["set"] == "reward + mtld"
    assert rule.model_comparison == [{"model": "ols", "cv_r2": 0.4}, {"model": "gbm", "cv_r2": 0.1}]
    assert not rule_view({"indicators": ["x"], "intercept": 1.0}).can_predict
    assert not rule_view({"stats": "not a dict"}).stats


def test_seed_noise_weighs_subsets_by_their_seed_count() -> None:
    """One formula everywhere (outcomes.pooled_sd): a subset run with five seeds weighs four times
    a subset run with two, which an unweighted root-mean-square of per-subset sds does not."""
    from instructmining.outcomes import pooled_sd
    from instructmining.rule.fit import _noise

    five = [1.0, 1.2, 0.8, 1.1, 0.9]
    runs = pd.DataFrame(
        {"subset_id": ["a"] * 5 + ["b"] * 2 + ["__base__"], "eval_loss": [*five, 2.0, 2.4, 3.0]}
    )
    expected = np.sqrt((np.var(five, ddof=1) * 4 + np.var([2.0, 2.4], ddof=1) * 1) / 5)
    assert seed_noise(runs) == pytest.approx(expected)
    per_subset = runs[runs["subset_id"] != "__base__"].groupby("subset_id")["eval_loss"]
    table = pd.DataFrame({"eval_loss": [1.0, 2.2], "seed_sd": per_subset.std(), "n_seeds": [5, 2]})
    assert _noise(table)["seed_sd"] == pytest.approx(expected)
    assert pooled_sd(np.array([0.1, np.nan]), np.array([3, 1])) == pytest.approx(0.1)
