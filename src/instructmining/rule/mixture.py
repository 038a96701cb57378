"""A baseline rule that knows only where the data came from (RegMix, Liu et al. 2024).

Log eval loss is regressed on each subset's source proportions (ridge, as the mixture shares sum
to one). If this fits as well as the indicator rule, the indicators add nothing beyond the
choice of sources. The predicted best mixture is the mean of the sampled mixtures with the
lowest predicted loss (RegMix's top-k average), and the `mixture` selector draws from it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.linear_model import Ridge, RidgeCV

from instructmining.rule.regression import Splits, q_squared

ALPHAS = np.logspace(-4, 2, 13)
CANDIDATES = 10000
TOP = 100


def _ridge_cv_predictions(x: np.ndarray, y: np.ndarray, splits: Splits) -> np.ndarray:
    predicted = np.empty_like(y)
    for train, test in splits:
        model = RidgeCV(alphas=ALPHAS).fit(x[train], y[train])
        predicted[test] = model.predict(x[test])
    return predicted


def fit_mixture(
    table: pd.DataFrame, proportions: pd.DataFrame, target: str, splits: Splits, seed: int = 0
) -> dict[str, Any]:
    """Ridge of `target` on source shares, its CV R² over the same folds as the indicator rule,
    and the predicted best mixture."""
    joined = table[["subset_id", target]].merge(proportions, on="subset_id", how="left")
    sources = [c for c in proportions.columns if c != "subset_id"]
    x = joined[sources].fillna(0.0).to_numpy(dtype=float)
    y = joined[target].to_numpy(dtype=float)
    alpha = float(RidgeCV(alphas=ALPHAS).fit(x, y).alpha_)
    model = Ridge(alpha=alpha).fit(x, y)
    candidates = np.random.default_rng(seed).dirichlet(np.ones(len(sources)), size=CANDIDATES)
    best = candidates[np.argsort(model.predict(candidates))[:TOP]].mean(axis=0)
    return {
        "sources": sources,
        "alpha": alpha,
        "intercept": float(model.intercept_),
        "coefficients": dict(zip(sources, map(float, model.coef_), strict=True)),
        "cv_r2": q_squared(y, _ridge_cv_predictions(x, y, splits))
        if len(sources) > 1
        else float("nan"),  # one source: no mixture to vary
        "best_mixture": dict(zip(sources, map(float, best), strict=True)),
    }


def mixture_scores(sources: pd.Series, shares: dict[str, float], seed: int = 0) -> np.ndarray:
    """Scores (lower = earlier) whose top n follow `shares` for every n: the k-th example of a
    source, in a seeded random order, is due at (k + 1/2) / share (stride scheduling)."""
    rng = np.random.default_rng(seed)
    score = np.full(len(sources), np.inf)
    values = sources.astype(str).to_numpy()
    for source, share in shares.items():
        where = np.flatnonzero(values == source)
        if share > 0 and len(where):
            order = rng.permutation(len(where))
            score[where[order]] = (np.arange(len(where)) + 0.5) / share
    return score
