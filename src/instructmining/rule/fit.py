"""Fit the quality rule: pick indicators, fit the model, and keep every number that judges it.

The linear least-squares fit on the chosen indicators is always reported (coefficients with
standard errors, p-values, CIs, VIFs); `model` decides what is stored to apply the rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from instructmining.errors import UserError, param
from instructmining.outcomes import pooled_sd
from instructmining.rule.chance import N_PERMUTATIONS, cv_spearman, permutation_test
from instructmining.rule.combos import (
    ablation,
    count_combinations,
    rank_combinations,
    search_combinations,
)
from instructmining.rule.evalsets import SetAnalysis, analyse_sets
from instructmining.rule.learners import MODELS, compare_models, fit_model
from instructmining.rule.mixture import fit_mixture
from instructmining.rule.model import Rule
from instructmining.rule.regression import cv_splits, fit_ols, min_train_size
from instructmining.rule.table import TARGET, FitTable


@dataclass
class FitResult:
    """The stored rule plus the tables the fit command prints."""

    rule: Rule
    combinations: pd.DataFrame
    coefficients: pd.DataFrame
    stats: dict[str, Any]
    ablation: pd.DataFrame
    models: pd.DataFrame
    sets: SetAnalysis


def fit_rule(
    data: FitTable | pd.DataFrame,
    indicators: list[str] | None = None,
    criterion: str = "cv",
    model: str = "ols",
    max_indicators: int = 3,
    folds: int = 5,
    exact: bool = False,
    max_combinations: int = 20000,
    name: str = "rule",
    permutations: int = N_PERMUTATIONS,
    jobs: int = 1,
    cache_dir: Path | None = None,
) -> FitResult:
    """Fit log eval loss on subset-mean indicators (one row per subset).

    `data` is a `FitTable` or a DataFrame with column `log_eval_loss` and indicator columns;
    `indicators` limits the candidates, and with `exact` they are all used without a search.
    `permutations` shuffles of the losses test the whole search against chance (0: no test).
    """
    if isinstance(data, pd.DataFrame):
        data = _as_fit_table(data)
    table = data.table
    if model not in MODELS:
        raise UserError(f"unknown model {model!r}; choose one of {', '.join(MODELS)}")
    candidates = _candidates(data, indicators)
    if max_indicators < 1 or folds < 2:
        raise UserError(
            f"{param('max_indicators')} must be at least 1 and {param('folds')} at least 2"
        )
    max_size = len(candidates) if exact else min(max_indicators, len(candidates))
    splits, scheme = cv_splits(len(table), folds)
    _check_enough(len(table), max_size, min_train_size(splits), scheme)

    if exact:
        combos = rank_combinations(table, [tuple(candidates)], TARGET, splits)
    else:
        combos = search_combinations(
            table, candidates, TARGET, max_size, splits, criterion, max_combinations
        )
    chosen = list(combos.iloc[0]["indicators"])
    ols = fit_ols(table, chosen, TARGET)
    coefficients = ols.coefficients()
    n_tried = 1 if exact else count_combinations(len(candidates), max_size)
    stats = {
        **ols.stats(),
        "cv_r2": float(combos.iloc[0]["cv_r2"]),
        "cv": scheme,
        "criterion": "exact" if exact else criterion,
        "n_candidates": len(candidates),
        "n_combinations": n_tried,
        # Conservative check of the winning F-test against the number of combinations tried.
        "f_p_bonferroni": min(1.0, ols.stats()["f_p"] * n_tried),
        **_noise(table),
        "cv_spearman": cv_spearman(table, chosen, TARGET, splits),
    }
    if permutations > 0:
        stats.update(
            permutation_test(
                table,
                candidates,
                TARGET,
                max_size,
                splits,
                stats["cv_r2"],
                criterion="exact" if exact else criterion,
                exact=exact,
                n_permutations=permutations,
                jobs=jobs,
                cache_dir=cache_dir,
            )
        )
    models = compare_models(table, chosen, TARGET, splits)
    rule = _build_rule(name, model, data, chosen, ols, coefficients, stats, combos, models, table)
    abl = ablation(table, chosen, TARGET, splits)
    rule.info["ablation"] = abl.to_dict("records")
    sets = analyse_sets(
        data, data.target, chosen, candidates, max_size, folds, criterion, exact, max_combinations
    )
    rule.info.update(sets.info())
    if data.proportions is not None:
        rule.info["mixture"] = fit_mixture(table, data.proportions, TARGET, splits)
    return FitResult(rule, combos, coefficients, stats, abl, models, sets)


def _as_fit_table(df: pd.DataFrame) -> FitTable:
    if TARGET not in df.columns:
        raise UserError(f"fit table needs a {TARGET} column")
    columns = [
        c
        for c in df.columns
        if c not in {TARGET, "subset_id", "eval_loss", "n_seeds", "seed_sd"}
        and pd.api.types.is_numeric_dtype(df[c])
    ]
    return FitTable(df.reset_index(drop=True), columns, {c: {"column": c} for c in columns}, {})


def _candidates(data: FitTable, indicators: list[str] | None) -> list[str]:
    if not indicators:
        if not data.columns:
            raise UserError("no indicator columns with values that vary between subsets")
        return list(data.columns)
    unknown = [c for c in indicators if c not in data.columns]
    if unknown:
        available = ", ".join(data.columns) or "none"
        raise UserError(
            f"indicator column(s) {', '.join(unknown)} not usable (available: {available})"
        )
    return list(dict.fromkeys(indicators))


def _check_enough(n: int, size: int, train: int, scheme: str) -> None:
    """Least squares with `size` indicators and an intercept needs more than size + 1 subsets,
    in every training fold too, to leave a residual degree of freedom."""
    if n <= size + 1 or train <= size + 1:
        raise UserError(
            f"{n} subsets with finished runs are too few to fit {size} indicator(s) with "
            f"{scheme} cross-validation (need at least {size + 2} per training fold); "
            f"run more subsets or lower {param('max_indicators')}"
        )


def _noise(table: pd.DataFrame) -> dict[str, float]:
    """Spread of eval loss between subsets and between training seeds of one subset: a rule
    can only explain differences larger than the seed noise."""
    out: dict[str, float] = {}
    if "eval_loss" in table.columns:
        out["between_subset_sd"] = float(table["eval_loss"].std(ddof=1))
    if "seed_sd" in table.columns and table["seed_sd"].notna().any():
        # Without seed counts (a table given by hand) every measured subset weighs the same.
        counts = table["n_seeds"] if "n_seeds" in table.columns else np.full(len(table), 2)
        out["seed_sd"] = pooled_sd(table["seed_sd"], counts)
    return out


def _evidence(table: pd.DataFrame, chosen: list[str], ols: Any) -> dict[str, Any]:
    """Where the rule was tested, for selecting inside it (`selection.evidence`): each fitted
    subset's mean of the chosen indicators, and the OLS coefficient covariance, residual
    variance and degrees of freedom that give a prediction interval at a new subset."""
    terms = ["const", *chosen]
    r = ols.result
    names = table["subset_id"] if "subset_id" in table else pd.Series(range(len(table)))
    return {
        "subsets": names.astype(str).tolist(),
        "columns": list(chosen),
        "means": table[chosen].astype(float).to_numpy().tolist(),
        "cov": r.cov_params().loc[terms, terms].to_numpy().tolist(),
        "scale": float(r.scale),
        "df_resid": float(r.df_resid),
    }


def _build_rule(name, model, data, chosen, ols, coefficients, stats, combos, models, table) -> Rule:
    details = {
        row.indicator: {
            "standardised": float(row.standardised),
            "se": float(row.se),
            "p": float(row.p),
            "ci95": [float(row.ci95_low), float(row.ci95_high)],
            "vif": float(row.vif),
        }
        for row in coefficients.itertuples()
    }
    info: dict[str, Any] = {
        "fit": stats,
        "selection": {
            "criterion": stats["criterion"],
            "n_combinations": stats["n_combinations"],
            "top": [
                {**r, "indicators": list(r["indicators"])}
                for r in combos.head(10).to_dict("records")
            ],
        },
        "model_comparison": models.to_dict("records"),
        "n_subsets": len(table),
        **{k: v for k, v in data.provenance.items() if k != "skipped_columns"},
        "versions": {p: version(p) for p in ("instructmining", "statsmodels", "scikit-learn")},
    }
    info["evidence"] = _evidence(table, chosen, ols)
    sd = table[chosen].astype(float).std(ddof=1)
    if model == "ols":
        info["coefficients"] = details
        coefs = dict(zip(chosen, coefficients.raw, strict=True))
        intercept, ensemble = stats["intercept"], None
    else:
        fitted = fit_model(model, table, chosen, TARGET)
        info["ols"] = {"intercept": stats["intercept"], "coefficients": details}
        info["model_params"] = fitted.params
        info["coefficients"] = {
            c: {"standardised": b * sd[c]} for c, b in fitted.coefficients.items()
        }
        intercept, coefs, ensemble = fitted.intercept, fitted.coefficients, fitted.ensemble
    return Rule(
        target=data.target,
        name=name,
        model=model,
        indicators=chosen,
        intercept=float(intercept),
        coefficients={c: float(b) for c, b in coefs.items()},
        ensemble=ensemble,
        definitions={c: data.definitions.get(c, {"column": c}) for c in chosen},
        info=info,
    )
