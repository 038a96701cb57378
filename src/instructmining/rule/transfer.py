"""Which rules travel: a rule fitted on one target, scored against every other evaluation set.

For each target (every recorded set, and the rule's own target) a least-squares rule is fitted
on the indicators the search picks for that target; its out-of-fold predictions (the subset's
own loss never used to predict it) are ranked against each set's measured log loss. The
diagonal is the rule's cross-validated Spearman on its own target; off the diagonal a value
near 1 means the rule also finds the subsets that are good on the other set, and a negative one
that it picks the wrong ones. The indicator set is chosen on all subsets, as in `fit`, so the
diagonal is mildly optimistic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from instructmining.rule.agreement import spearman
from instructmining.rule.combos import search_combinations
from instructmining.rule.regression import cv_splits, fit_ols, min_train_size, ols_cv_predictions

_Y = "__target__"


@dataclass
class TargetRule:
    """A least-squares rule fitted on one target, with its out-of-fold predictions per subset."""

    indicators: list[str]
    intercept: float
    coefficients: dict[str, float]
    out_of_fold: pd.Series

    def predict(self, table: pd.DataFrame) -> np.ndarray:
        x = table[self.indicators].to_numpy(dtype=float)
        return self.intercept + x @ np.array([self.coefficients[c] for c in self.indicators])


def fit_target_rule(
    table: pd.DataFrame,
    y: pd.Series,
    candidates: list[str],
    max_size: int,
    folds: int,
    criterion: str = "cv",
    chosen: list[str] | None = None,
    max_combinations: int = 20000,
) -> TargetRule | None:
    """A rule for target `y` (indexed by subset_id) on `table`'s subsets that have it; `chosen`
    skips the search. None when there are too few subsets to cross-validate."""
    data = table.set_index("subset_id")[candidates].join(y.rename(_Y), how="inner").dropna()
    splits, _ = cv_splits(len(data), folds)
    size = min(max_size, len(candidates), min_train_size(splits) - 2)
    if size < 1 or (chosen and len(chosen) > size):
        return None
    if not chosen:
        found = search_combinations(data, candidates, _Y, size, splits, criterion, max_combinations)
        chosen = list(found.iloc[0]["indicators"])
    x, target = data[chosen].to_numpy(dtype=float), data[_Y].to_numpy(dtype=float)
    fit = fit_ols(data, chosen, _Y)
    return TargetRule(
        indicators=list(chosen),
        intercept=float(fit.result.params["const"]),
        coefficients={c: float(fit.result.params[c]) for c in chosen},
        out_of_fold=pd.Series(ols_cv_predictions(x, target, splits), index=data.index),
    )


def transfer_records(
    rules: dict[str, TargetRule | None], log_losses: pd.DataFrame
) -> list[dict[str, Any]]:
    """Spearman of each rule's out-of-fold predictions against each set's log loss."""
    out = []
    for fitted_on, rule in rules.items():
        for evaluated_on in log_losses.columns:
            rho, n = math.nan, 0
            if rule is not None:
                both = pd.concat([rule.out_of_fold, log_losses[evaluated_on]], axis=1).dropna()
                n = len(both)
                rho = spearman(both.iloc[:, 0].to_numpy(), both.iloc[:, 1].to_numpy())
            out.append(
                {
                    "fitted_on": fitted_on,
                    "indicators": rule.indicators if rule is not None else [],
                    "evaluated_on": str(evaluated_on),
                    "spearman": rho,
                    "n_subsets": n,
                }
            )
    return out


def transfer_matrix(records: list[dict[str, Any]]) -> pd.DataFrame:
    """Rows: the target a rule was fitted on; columns: the set its predictions are ranked on."""
    frame = pd.DataFrame(records)
    if frame.empty:
        return frame
    matrix = frame.pivot(index="fitted_on", columns="evaluated_on", values="spearman")
    rows = list(dict.fromkeys(frame["fitted_on"]))
    columns = list(dict.fromkeys(frame["evaluated_on"]))
    return matrix.loc[rows, columns].astype(float)
