"""The model behind a rule: least squares, ridge, lasso or gradient-boosted trees.

All four are scored by the same cross-validated R² on the same folds, so the fit output shows
whether regularisation or a non-linear rule earns its keep over plain least squares.
Ridge, lasso and trees see standardised indicators; ridge and lasso are stored back on the raw
scale as ordinary linear coefficients.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.ensemble import GradientBoostingRegressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LassoCV, LinearRegression, RidgeCV
from sklearn.model_selection import KFold
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from instructmining.errors import UserError
from instructmining.rule.model import TreeEnsemble
from instructmining.rule.regression import Splits, q_squared

MODELS = ("ols", "ridge", "lasso", "gbm")
SEED = 0


def _estimator(kind: str, n_train: int) -> Pipeline:
    if kind == "ols":
        last = LinearRegression()
    elif kind == "ridge":
        last = RidgeCV(alphas=np.logspace(-4, 3, 29))
    elif kind == "lasso":
        inner = KFold(n_splits=max(2, min(5, n_train)), shuffle=True, random_state=SEED)
        last = LassoCV(cv=inner, alphas=50, random_state=SEED, max_iter=20000)
    elif kind == "gbm":
        # Few subsets: shallow trees, few of them, and two subsets per leaf at least.
        last = GradientBoostingRegressor(
            n_estimators=100, max_depth=2, learning_rate=0.1, min_samples_leaf=2, random_state=SEED
        )
    else:
        raise UserError(f"unknown model {kind!r}; choose one of {', '.join(MODELS)}")
    return make_pipeline(StandardScaler(), last)


def _fit(kind: str, x: np.ndarray, y: np.ndarray) -> Pipeline:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return _estimator(kind, len(y)).fit(x, y)


def cv_r2(kind: str, x: np.ndarray, y: np.ndarray, splits: Splits) -> float:
    predicted = np.empty_like(y)
    for train, test in splits:
        predicted[test] = _fit(kind, x[train], y[train]).predict(x[test])
    return q_squared(y, predicted)


def compare_models(
    table: pd.DataFrame, columns: list[str], target: str, splits: Splits
) -> pd.DataFrame:
    """Cross-validated and in-sample R² of each model on the chosen indicators."""
    x = table[columns].to_numpy(dtype=float)
    y = table[target].to_numpy(dtype=float)
    rows = []
    for kind in MODELS:
        in_sample = _fit(kind, x, y).predict(x)
        rows.append(
            {"model": kind, "cv_r2": cv_r2(kind, x, y, splits), "r2": q_squared(y, in_sample)}
        )
    return pd.DataFrame(rows)


@dataclass
class FittedModel:
    """What a rule needs to apply the model, on the raw indicator scale."""

    intercept: float = 0.0
    coefficients: dict[str, float] = field(default_factory=dict)
    ensemble: TreeEnsemble | None = None
    params: dict[str, float] = field(default_factory=dict)


def fit_model(kind: str, table: pd.DataFrame, columns: list[str], target: str) -> FittedModel:
    x = table[columns].to_numpy(dtype=float)
    y = table[target].to_numpy(dtype=float)
    pipe = _fit(kind, x, y)
    scaler, last = pipe[0], pipe[-1]
    if kind == "gbm":
        ensemble = TreeEnsemble.from_sklearn(last, columns, scaler.mean_, scaler.scale_)
        return FittedModel(ensemble=ensemble, params={"n_estimators": last.n_estimators})
    raw = last.coef_ / scaler.scale_
    intercept = float(last.intercept_ - np.sum(raw * scaler.mean_))
    params = {"alpha": float(last.alpha_)} if hasattr(last, "alpha_") else {}
    coefficients = {c: float(b) for c, b in zip(columns, raw, strict=True)}
    return FittedModel(intercept, coefficients, params=params)
