"""Least squares with the statistics a reader needs to trust a rule, and cross-validated R².

In-sample R² always grows with more indicators; the cross-validated R² (Q², computed from
out-of-fold predictions) does not, which is why it ranks indicator sets by default.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import statsmodels.api as sm
from sklearn.model_selection import KFold, LeaveOneOut
from statsmodels.stats.outliers_influence import variance_inflation_factor

CV_SEED = 0

Splits = list[tuple[np.ndarray, np.ndarray]]


def cv_splits(n: int, folds: int) -> tuple[Splits, str]:
    """Deterministic folds: k-fold (shuffled, fixed seed) or leave-one-out when n < 2 * folds,
    where k folds would leave one or two subsets per fold."""
    if n < 2 * folds:
        return list(LeaveOneOut().split(np.zeros(n))), "leave-one-out"
    splitter = KFold(n_splits=folds, shuffle=True, random_state=CV_SEED)
    return list(splitter.split(np.zeros(n))), f"{folds}-fold"


def min_train_size(splits: Splits) -> int:
    return min(len(train) for train, _ in splits)


def q_squared(y: np.ndarray, predicted: np.ndarray) -> float:
    """1 - PRESS / total sum of squares: R² of out-of-fold predictions."""
    return float(1.0 - np.sum((y - predicted) ** 2) / np.sum((y - y.mean()) ** 2))


def ols_cv_predictions(x: np.ndarray, y: np.ndarray, splits: Splits) -> np.ndarray:
    """Out-of-fold predictions of least squares with an intercept (one lstsq per fold)."""
    predicted = np.empty_like(y)
    for train, test in splits:
        a = np.column_stack([np.ones(len(train)), x[train]])
        beta = np.linalg.lstsq(a, y[train], rcond=None)[0]
        predicted[test] = np.column_stack([np.ones(len(test)), x[test]]) @ beta
    return predicted


def ols_cv_r2(x: np.ndarray, y: np.ndarray, splits: Splits) -> float:
    """Cross-validated R² of least squares with an intercept."""
    return q_squared(y, ols_cv_predictions(x, y, splits))


def fold_mse(y: np.ndarray, predicted: np.ndarray, splits: Splits) -> tuple[float, float]:
    """Mean squared out-of-fold error over the folds, and its standard error."""
    per_fold = np.array([np.mean((y[test] - predicted[test]) ** 2) for _, test in splits])
    return float(per_fold.mean()), float(per_fold.std(ddof=1) / np.sqrt(len(per_fold)))


@dataclass
class OlsFit:
    """statsmodels OLS of the target on `columns`, with an intercept."""

    columns: list[str]
    result: sm.regression.linear_model.RegressionResultsWrapper
    sd: pd.Series  # standard deviation of each indicator over the subsets

    @property
    def max_p(self) -> float:
        return float(self.result.pvalues[self.columns].max())

    def coefficients(self) -> pd.DataFrame:
        """Raw and standardised coefficients with SE, p, 95% CI and VIF, one row per indicator.

        Standardised = change in log loss per standard deviation of the indicator, so
        indicators on different scales can be compared."""
        r = self.result
        ci = r.conf_int(alpha=0.05)
        exog = r.model.exog
        vif = (
            [variance_inflation_factor(exog, i + 1) for i in range(len(self.columns))]
            if len(self.columns) > 1
            else [1.0]
        )
        return pd.DataFrame(
            {
                "indicator": self.columns,
                "raw": r.params[self.columns].to_numpy(),
                "standardised": (r.params[self.columns] * self.sd[self.columns]).to_numpy(),
                "se": r.bse[self.columns].to_numpy(),
                "p": r.pvalues[self.columns].to_numpy(),
                "ci95_low": ci.loc[self.columns, 0].to_numpy(),
                "ci95_high": ci.loc[self.columns, 1].to_numpy(),
                "vif": vif,
            }
        )

    def stats(self) -> dict[str, float]:
        r = self.result
        return {
            "r2": float(r.rsquared),
            "adj_r2": float(r.rsquared_adj),
            "f": float(r.fvalue),
            "f_p": float(r.f_pvalue),
            "aic": float(r.aic),
            "bic": float(r.bic),
            "intercept": float(r.params["const"]),
            "intercept_se": float(r.bse["const"]),
            "intercept_p": float(r.pvalues["const"]),
            "residual_sd": float(np.sqrt(r.scale)),
        }


def fit_ols(table: pd.DataFrame, columns: list[str], target: str) -> OlsFit:
    x = sm.add_constant(table[columns].astype(float), has_constant="add")
    result = sm.OLS(table[target].astype(float), x).fit()
    return OlsFit(list(columns), result, table[columns].astype(float).std(ddof=1))
