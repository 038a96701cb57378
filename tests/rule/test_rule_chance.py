"""Permutation test of the whole indicator search, CV Spearman, and the mixture baseline."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from rule_synthetic import subset_table
from scipy import stats

from instructmining.rule import fit_rule
from instructmining.rule.chance import (
    _winners_cv_r2,
    null_distribution,
    permutation_test,
)
from instructmining.rule.combos import rank_combinations
from instructmining.rule.mixture import fit_mixture, mixture_scores
from instructmining.rule.regression import cv_splits
from instructmining.rule.sources import source_shares

CANDIDATES = ["reward", "mtld", "ppl", "output_len", "ifd", "input_len"]


def test_true_rule_is_far_better_than_chance(tmp_path):
    result = fit_rule(subset_table(40), max_indicators=2, permutations=200, cache_dir=tmp_path)
    s = result.stats
    assert s["permutations"] == 200
    assert s["permutation_p"] == pytest.approx(1 / 201)  # no shuffle reaches the true fit
    assert s["cv_spearman"] > 0.9 and s["cv_r2"] > 0.9
    assert result.rule.to_dict()["fit"]["permutation_p"] == s["permutation_p"]


def test_pure_noise_gives_roughly_uniform_p_values():
    """Over many noise tables the p-values spread evenly over (0, 1]: the best of 21
    combinations on noise is judged against the best of 21 on shuffled noise."""
    ps = []
    combos = [c for k in (1, 2) for c in itertools.combinations(CANDIDATES, k)]
    for seed in range(60):
        table = subset_table(30, seed=seed)
        y = np.random.default_rng(1000 + seed).normal(size=len(table))
        table["log_eval_loss"] = y
        splits, _ = cv_splits(len(table), 5)
        observed = _winners_cv_r2(table, combos, y[:, None], splits, "cv")[0]  # the winner
        found = permutation_test(table, CANDIDATES, "log_eval_loss", 2, splits, observed, seed=seed)
        ps.append(found["permutation_p"])
    ps = np.array(ps)
    assert stats.kstest(ps, "uniform").pvalue > 0.01
    assert 0.3 < ps.mean() < 0.7 and (ps < 0.05).mean() < 0.2


@pytest.mark.parametrize("criterion", ["cv", "cv-1se", "paper"])
def test_fast_null_matches_the_search_itself(criterion):
    """The vectorised null equals rerunning rank_combinations (statsmodels) per shuffle."""
    table = subset_table(24, seed=3)
    table["log_eval_loss"] += np.random.default_rng(0).normal(0, 0.03, len(table))
    splits, _ = cv_splits(len(table), 5)
    combos = [("reward",), ("mtld",), ("ppl",), ("reward", "mtld"), ("mtld", "ppl")]
    fast = null_distribution(table, combos, "log_eval_loss", splits, criterion, 8, seed=2, jobs=2)
    rng = np.random.default_rng(2)
    y = table["log_eval_loss"].to_numpy()
    slow = []
    for _ in range(8):
        shuffled = table.assign(log_eval_loss=y[rng.permutation(len(y))])
        ranked = rank_combinations(shuffled, combos, "log_eval_loss", splits, criterion)
        slow.append(ranked.iloc[0]["cv_r2"])
    np.testing.assert_allclose(fast, slow, rtol=1e-8, atol=1e-10)


def test_permutations_are_cached(tmp_path):
    table = subset_table(20, seed=1)
    splits, _ = cv_splits(len(table), 5)
    args = (table, ["reward", "mtld"], "log_eval_loss", 1, splits, 0.5)
    first = permutation_test(*args, n_permutations=50, cache_dir=tmp_path)
    assert len(list((tmp_path / "permutations").glob("*.json"))) == 1
    assert permutation_test(*args, n_permutations=50, cache_dir=tmp_path) == first


def _mixture_data(n=40, seed=0):
    rng = np.random.default_rng(seed)
    shares = rng.dirichlet(np.ones(3), size=n)
    sources = ["alpaca", "dolly", "lima"]
    rows, pool = [], []
    for i, share in enumerate(shares):
        counts = np.round(share * 20).astype(int)
        for source, count in zip(sources, counts, strict=True):
            for k in range(count):
                rows.append((f"s{i:02d}", f"{source}-{i}-{k}"))
                pool.append((f"{source}-{i}-{k}", source))
    subsets = pd.DataFrame(rows, columns=["subset_id", "id"])
    pool = pd.DataFrame(pool, columns=["id", "source"])
    props = source_shares(subsets, pool).rename_axis(None, axis=1).reset_index()
    y = 1.0 + 0.3 * props["dolly"] - 0.2 * props["lima"] + rng.normal(0, 0.005, n)
    table = pd.DataFrame({"subset_id": props["subset_id"], "log_eval_loss": y})
    return table, props, pool


def test_mixture_rule_fits_source_shares_and_prefers_the_best_source():
    table, props, _ = _mixture_data()
    splits, _ = cv_splits(len(table), 5)
    found = fit_mixture(table, props, "log_eval_loss", splits)
    assert found["cv_r2"] > 0.9
    best = found["best_mixture"]
    assert max(best, key=best.get) == "lima" and sum(best.values()) == pytest.approx(1)


def test_mixture_scores_follow_the_shares_at_every_n():
    sources = pd.Series(["a"] * 50 + ["b"] * 50 + ["c"] * 50)
    score = mixture_scores(sources, {"a": 0.6, "b": 0.4, "c": 0.0}, seed=1)
    order = np.argsort(score, kind="stable")
    for n in (10, 25, 60):
        counts = sources.iloc[order[:n]].value_counts()
        assert abs(counts.get("a", 0) - 0.6 * n) <= 1 and counts.get("c", 0) == 0
