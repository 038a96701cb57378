"""Is the fitted rule better than chance? Rank correlation and a permutation test of CV R².

Picking the best of many indicator combinations finds some fit in pure noise, so the winner's
CV R² is compared with the winners of the same whole search on losses shuffled across subsets
(the null: indicators carry no information about loss). Selection uses the rule's ranking, so
the cross-validated Spearman correlation between predicted and measured loss is reported too.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from instructmining.hashing import hash_object
from instructmining.rule.combos import ALPHA
from instructmining.rule.regression import Splits, ols_cv_predictions
from instructmining.storage import write_json

N_PERMUTATIONS = 200


def cv_spearman(table: pd.DataFrame, columns: list[str], target: str, splits: Splits) -> float:
    """Spearman correlation between out-of-fold predicted and measured log loss."""
    y = table[target].to_numpy(dtype=float)
    predicted = ols_cv_predictions(table[columns].to_numpy(dtype=float), y, splits)
    return float(stats.spearmanr(predicted, y).statistic)


def _fold_operators(
    x: np.ndarray, splits: Splits
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Per fold, the matrix that maps training losses to out-of-fold predictions (least squares
    with an intercept), so many shuffled targets are predicted with one product."""
    ops = []
    for train, test in splits:
        a = np.column_stack([np.ones(len(train)), x[train]])
        b = np.column_stack([np.ones(len(test)), x[test]])
        ops.append((train, test, b @ np.linalg.pinv(a)))
    return ops


def _combo_scores(
    table: pd.DataFrame, combo: tuple[str, ...], ys: np.ndarray, splits: Splits
) -> dict[str, np.ndarray]:
    """The scores `rank_combinations` ranks by, for one combination and every column of `ys`:
    CV R², fold MSE and its standard error, in-sample R² and the largest coefficient p-value."""
    x = table[list(combo)].to_numpy(dtype=float)
    n, k = x.shape
    predicted = np.empty_like(ys)
    for train, test, op in _fold_operators(x, splits):
        predicted[test] = op @ ys[train]
    total = ((ys - ys.mean(axis=0)) ** 2).sum(axis=0)
    per_fold = np.array([((ys[t] - predicted[t]) ** 2).mean(axis=0) for _, t in splits])
    design = np.column_stack([np.ones(n), x])
    inverse = np.linalg.pinv(design.T @ design)
    beta = inverse @ design.T @ ys
    rss = ((ys - design @ beta) ** 2).sum(axis=0)
    dof = n - k - 1
    se = np.sqrt(np.outer(np.diag(inverse)[1:], rss / dof))
    p = 2 * stats.t.sf(np.abs(beta[1:] / se), dof)
    return {
        "cv_r2": 1 - ((ys - predicted) ** 2).sum(axis=0) / total,
        "cv_mse": per_fold.mean(axis=0),
        "cv_mse_se": per_fold.std(axis=0, ddof=1) / np.sqrt(len(splits)),
        "r2": 1 - rss / total,
        "max_p": p.max(axis=0),
        "size": np.full(ys.shape[1], float(k)),
    }


def _winners_cv_r2(
    table: pd.DataFrame,
    combos: list[tuple[str, ...]],
    ys: np.ndarray,
    splits: Splits,
    criterion: str,
) -> np.ndarray:
    """CV R² of the combination the criterion picks, for every column of `ys` at once, in the
    order `rank_combinations` uses (the tests hold it against that function)."""
    found = [_combo_scores(table, c, ys, splits) for c in combos]
    score = {key: np.stack([f[key] for f in found]) for key in found[0]}  # (combos, shuffles)
    cols = np.arange(ys.shape[1])
    if criterion in ("cv", "exact"):
        return score["cv_r2"].max(axis=0)
    if criterion == "cv-1se":  # the fewest indicators within one SE of the best, then CV R²
        best = score["cv_mse"].argmin(axis=0)
        within = score["cv_mse"] <= score["cv_mse"][best, cols] + score["cv_mse_se"][best, cols]
        key = np.where(within, score["size"] * 1e6 - score["cv_r2"], np.inf)
    else:  # paper: all coefficients significant first, then the highest R², then smallest p
        first = np.where(score["max_p"] < ALPHA, 0.0, 1e6)
        key = first - score["r2"] * 1e3 + score["max_p"] * 1e-6
    return score["cv_r2"][key.argmin(axis=0), cols]


def null_distribution(
    table: pd.DataFrame,
    combos: list[tuple[str, ...]],
    target: str,
    splits: Splits,
    criterion: str = "cv",
    n_permutations: int = N_PERMUTATIONS,
    seed: int = 0,
    jobs: int = 1,
) -> np.ndarray:
    """CV R² of the combination the whole search picks, once per shuffle of the losses."""
    from joblib import Parallel, delayed

    y = table[target].to_numpy(dtype=float)
    rng = np.random.default_rng(seed)
    ys = np.column_stack([y[rng.permutation(len(y))] for _ in range(n_permutations)])
    blocks = np.array_split(np.arange(n_permutations), max(1, min(jobs, n_permutations)))
    parts = Parallel(n_jobs=jobs, prefer="threads")(
        delayed(_winners_cv_r2)(table, combos, ys[:, b], splits, criterion) for b in blocks
    )
    return np.concatenate(parts)


def permutation_test(
    table: pd.DataFrame,
    candidates: list[str],
    target: str,
    max_size: int,
    splits: Splits,
    observed: float,
    criterion: str = "cv",
    exact: bool = False,
    n_permutations: int = N_PERMUTATIONS,
    seed: int = 0,
    jobs: int = 1,
    cache_dir: Path | None = None,
) -> dict[str, float | int]:
    """p-value of the observed CV R² against the whole search rerun on shuffled losses:
    (1 + shuffles whose winner reaches it) / (1 + shuffles). Cached by content in `cache_dir`."""
    combos = (
        [tuple(candidates)]
        if exact
        else [c for k in range(1, max_size + 1) for c in itertools.combinations(candidates, k)]
    )
    key = hash_object(
        [
            table[[target, *candidates]].to_numpy(dtype=float).tolist(),
            combos,
            criterion,
            [t.tolist() for _, t in splits],
            n_permutations,
            seed,
        ]
    )
    cached = _permutations_folder(cache_dir) / f"{key}.json" if cache_dir else None
    if cached is not None and cached.exists():
        null = np.asarray(json.loads(cached.read_text(encoding="utf-8")), dtype=float)
    else:
        null = null_distribution(
            table, combos, target, splits, criterion, n_permutations, seed, jobs
        )
        if cached is not None:
            write_json(null.tolist(), cached)
    return {
        "permutation_p": float((1 + np.sum(null >= observed - 1e-12)) / (1 + len(null))),
        "permutations": int(len(null)),
        "null_cv_r2_median": float(np.median(null)),
        "null_cv_r2_q95": float(np.quantile(null, 0.95)),
    }


def _permutations_folder(cache_dir: Path | str) -> Path:
    """`cache/permutations` of a workspace: the folder of the same name in `cache_dir`."""
    from instructmining.workspace import FILES

    return Path(cache_dir) / Path(FILES["permutations"].name).name
