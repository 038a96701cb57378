"""The few statistics the report computes itself: intervals, seed noise, rule predictions.

Reviewers of the paper asked for seeds and error bars; these turn repeated runs into them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from instructmining.outcomes import BASELINE, seed_noise  # noqa: F401 (the report's stats)
from instructmining.report.rule_view import RuleView


@dataclass(frozen=True)
class Interval:
    estimate: float
    low: float
    high: float


def mean_ci(values: np.ndarray, level: float = 0.95) -> Interval:
    """Mean with a Student-t interval; the interval is NaN with fewer than two values."""
    values = np.asarray(values, dtype=float)
    mean = float(values.mean())
    if len(values) < 2:
        return Interval(mean, float("nan"), float("nan"))
    half = stats.t.ppf(0.5 + level / 2, len(values) - 1) * values.std(ddof=1) / np.sqrt(len(values))
    return Interval(mean, mean - half, mean + half)


def ok_runs(runs: pd.DataFrame) -> pd.DataFrame:
    """Finished runs with a finite eval loss."""
    keep = np.isfinite(runs["eval_loss"].astype(float))
    if "status" in runs:
        keep &= runs["status"].astype(str) == "ok"
    return runs[keep]


def measured_log_loss(runs: pd.DataFrame) -> pd.Series:
    """Log of the mean eval loss over seeds per subset: the target `instructmining fit` uses."""
    subsets = runs[runs["subset_id"] != BASELINE]
    return np.log(subsets["eval_loss"].astype(float).groupby(subsets["subset_id"]).mean())


def subset_means(indicators: pd.DataFrame, subsets: pd.DataFrame) -> pd.DataFrame:
    """Mean of each indicator column over each subset's examples, indexed by subset_id."""
    joined = subsets[["subset_id", "id"]].merge(indicators, on="id", how="inner")
    return joined.drop(columns="id").groupby("subset_id").mean(numeric_only=True)


def predict(rule: RuleView, means: pd.DataFrame) -> pd.Series:
    """The rule's predicted log eval loss for each row of subset means."""
    if rule.is_ensemble:  # trees need the rule stage's own code to apply
        from instructmining.rule import Rule

        return pd.Series(Rule.from_dict(rule.raw).predict(means), index=means.index)
    total = pd.Series(rule.intercept, index=means.index, dtype=float)
    for name in rule.indicators:
        total += rule.coefficients[name]["estimate"] * means[name].astype(float)
    return total


def r_squared(measured: pd.Series, predicted: pd.Series) -> float:
    residual = ((measured - predicted) ** 2).sum()
    total = ((measured - measured.mean()) ** 2).sum()
    return float(1 - residual / total) if total > 0 else float("nan")
