"""Which indicators enter the rule: every combination up to a size, ranked by one criterion.

Trying many combinations and keeping the best is itself a fit: the winner's scores are
optimistic, so the number of combinations tried is reported with them.

Criteria:
- `cv` (default): highest cross-validated R²; ties go to fewer indicators, then adjusted R².
- `cv-1se`: the one-standard-error rule (Breiman et al. 1984; Hastie et al., ESL 7.10): the
  fewest indicators whose cross-validated error is within one standard error (over folds) of
  the best; guards against a distractor that wins by chance among many combinations.
- `paper`: the paper's "highest R², then most significant p-values", read as: among the
  combinations whose every coefficient has p < 0.05 (all combinations if none has), the highest
  R², ties broken by the smallest largest p-value. Without that filter the largest set would
  always win, since in-sample R² never drops when an indicator is added.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable

import numpy as np
import pandas as pd

from instructmining.errors import UserError, param
from instructmining.rule.regression import (
    Splits,
    fit_ols,
    fold_mse,
    ols_cv_predictions,
    ols_cv_r2,
    q_squared,
)

CRITERIA = ("cv", "cv-1se", "paper")
ALPHA = 0.05


def count_combinations(n_candidates: int, max_size: int) -> int:
    return sum(math.comb(n_candidates, k) for k in range(1, max_size + 1))


def search_combinations(
    table: pd.DataFrame,
    candidates: list[str],
    target: str,
    max_size: int,
    splits: Splits,
    criterion: str = "cv",
    max_combinations: int = 20000,
) -> pd.DataFrame:
    """Score every combination of 1..max_size candidates; rows best first."""
    total = count_combinations(len(candidates), max_size)
    if total > max_combinations:
        raise UserError(
            f"{total} indicator combinations exceed the limit of {max_combinations}; "
            f"lower {param('max_indicators')} or name fewer with {param('indicators')}"
        )
    combos = (
        c for size in range(1, max_size + 1) for c in itertools.combinations(candidates, size)
    )
    return rank_combinations(table, combos, target, splits, criterion)


def rank_combinations(
    table: pd.DataFrame,
    combos: Iterable[tuple[str, ...]],
    target: str,
    splits: Splits,
    criterion: str = "cv",
) -> pd.DataFrame:
    """In-sample and cross-validated scores of the given combinations, best first."""
    if criterion not in CRITERIA:
        raise UserError(f"unknown criterion {criterion!r}; choose one of {', '.join(CRITERIA)}")
    y = table[target].to_numpy(dtype=float)
    rows = []
    for combo in combos:
        fit = fit_ols(table, list(combo), target)
        stats = fit.stats()
        predicted = ols_cv_predictions(table[list(combo)].to_numpy(dtype=float), y, splits)
        cv_mse, cv_mse_se = fold_mse(y, predicted, splits)
        rows.append(
            {
                "indicators": tuple(combo),
                "size": len(combo),
                "r2": stats["r2"],
                "adj_r2": stats["adj_r2"],
                "cv_r2": q_squared(y, predicted),
                "max_p": fit.max_p,
                "cv_mse": cv_mse,
                "cv_mse_se": cv_mse_se,
            }
        )
    found = pd.DataFrame(rows)
    found["all_significant"] = found["max_p"] < ALPHA
    best = found.loc[found["cv_mse"].idxmin()]
    found["within_1se"] = found["cv_mse"] <= best["cv_mse"] + best["cv_mse_se"]
    if criterion == "cv-1se":
        found = found.sort_values(
            ["within_1se", "size", "cv_r2"], ascending=[False, True, False], kind="stable"
        )
    elif criterion == "cv":
        found = found.sort_values(
            ["cv_r2", "size", "adj_r2"], ascending=[False, True, False], kind="stable"
        )
    else:
        found = found.sort_values(
            ["all_significant", "r2", "max_p"], ascending=[False, False, True], kind="stable"
        )
    found = found.reset_index(drop=True)
    found.insert(0, "rank", np.arange(1, len(found) + 1))
    return found


def ablation(table: pd.DataFrame, columns: list[str], target: str, splits: Splits) -> pd.DataFrame:
    """Each chosen indicator alone, the set without each one, and all together."""
    sets: list[tuple[str, list[str]]] = []
    if len(columns) > 1:
        sets += [(f"only {c}", [c]) for c in columns]
        if len(columns) > 2:
            sets += [(f"without {c}", [d for d in columns if d != c]) for c in columns]
    sets.append(("all", list(columns)))
    y = table[target].to_numpy(dtype=float)
    rows = []
    for label, cols in sets:
        stats = fit_ols(table, cols, target).stats()
        cv = ols_cv_r2(table[cols].to_numpy(dtype=float), y, splits)
        rows.append(
            {
                "set": label,
                "indicators": "+".join(cols),
                "r2": stats["r2"],
                "adj_r2": stats["adj_r2"],
                "cv_r2": cv,
            }
        )
    return pd.DataFrame(rows)
