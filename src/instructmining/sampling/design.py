"""How much a set of subsets can teach a linear rule, and a Fedorov exchange that raises it.

A rule log L = b0 + sum_i b_i * mean_i is fitted on one row per subset, so the precision of its
coefficients is set by the information matrix M = X'X / N of X = [1, subset means] (means of
indicators standardised by the pool's per-example mean and sd). The D-efficiency det(M)^(1/p)
(p columns of X) is the figure to raise: coefficient standard errors shrink as it grows, so
the same precision needs fewer fine-tunes. The I-criterion instead lowers the average
prediction variance x' M^-1 x over reference points (the subsets a rule is later applied to).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from instructmining.errors import UserError

CRITERIA = ("d", "i")
# Added to X'X before a determinant or inverse, so a design with fewer subsets than columns
# (a start of the exchange, the first adds of a sequential design) still ranks its moves.
_RIDGE = 1e-6
_TIE = 1e-9  # relative: moves this close count as ties, taken by lowest index on any machine

Criterion = Callable[[np.ndarray], np.ndarray]


def with_intercept(means: np.ndarray) -> np.ndarray:
    """Design rows [1, means]: the intercept is a parameter of the rule too."""
    means = np.atleast_2d(np.asarray(means, dtype=np.float64))
    return np.hstack([np.ones((len(means), 1)), means])


def d_efficiency(means: np.ndarray) -> float:
    """det(X'X / N)^(1/p) for X = [1, means]; 0 for a design that cannot fit every coefficient."""
    x = with_intercept(means)
    sign, logdet = np.linalg.slogdet(x.T @ x / len(x))
    return float(np.exp(logdet / x.shape[1])) if sign > 0 else 0.0


def design_figures(means: np.ndarray, columns: Sequence[str]) -> dict[str, float]:
    """D-efficiency, sd of each indicator's subset means, largest |correlation| between them
    (over the subsets with a mean for every column)."""
    means = np.asarray(means, dtype=np.float64)
    means = means[np.isfinite(means).all(axis=1)]
    figures = {"d_efficiency": d_efficiency(means)}
    sds = means.std(axis=0, ddof=1) if len(means) > 1 else np.zeros(means.shape[1])
    figures |= {f"sd_{c}": float(s) for c, s in zip(columns, sds, strict=True)}
    if len(columns) > 1 and len(means) > 2 and (sds > 0).all():
        corr = np.corrcoef(means, rowvar=False)
        figures["max_abs_corr"] = float(np.abs(corr[~np.eye(len(columns), dtype=bool)]).max())
    else:
        figures["max_abs_corr"] = float("nan")
    return figures


def d_criterion() -> Criterion:
    """log det of information matrices (maximised)."""

    def value(info: np.ndarray) -> np.ndarray:
        return np.linalg.slogdet(info + _RIDGE * np.eye(info.shape[-1]))[1]

    return value


def i_criterion(reference: np.ndarray) -> Criterion:
    """Minus the mean prediction variance x' M^-1 x over `reference` means (maximised)."""
    rows = with_intercept(reference)
    weight = rows.T @ rows / len(rows)

    def value(info: np.ndarray) -> np.ndarray:
        inverse = np.linalg.inv(info + _RIDGE * np.eye(info.shape[-1]))
        return -np.einsum("...ij,ji->...", inverse, weight)

    return value


def criterion_for(name: str, reference: np.ndarray | None = None) -> Criterion:
    if name not in CRITERIA:
        raise UserError(f"unknown criterion {name!r}; choose d or i")
    if name == "i":
        if reference is None or len(reference) == 0:
            raise UserError("the i criterion needs reference subsets to predict at")
        return i_criterion(reference)
    return d_criterion()


def exchange(
    candidates: np.ndarray,
    start: Sequence[int],
    criterion: Criterion | None = None,
    fixed: np.ndarray | None = None,
    max_steps: int = 500,
) -> tuple[list[int], list[float]]:
    """Fedorov exchange: swap a chosen candidate for an unchosen one while the swap that helps
    most raises the criterion of [fixed rows + chosen rows]; returns the chosen indices and the
    criterion after each accepted step (never lower than the one before)."""
    criterion = criterion or d_criterion()
    x = with_intercept(candidates)
    base = _information(fixed, x.shape[1])
    chosen = list(start)
    if len(set(chosen)) != len(chosen):
        raise ValueError("the start design repeats a candidate")
    outer = x[:, :, None] * x[:, None, :]
    info = base + outer[chosen].sum(axis=0)
    history = [float(criterion(info))]
    for _ in range(max_steps):
        moves = info - outer[chosen][:, None] + outer[None]  # (chosen, candidate, p, p)
        values = criterion(moves)
        values[:, chosen] = -np.inf
        best = values.max()
        if not np.isfinite(best) or best <= history[-1] + _TIE * max(1.0, abs(history[-1])):
            break
        flat = int(np.flatnonzero(values.ravel() >= best - _TIE * max(1.0, abs(best)))[0])
        out, into = divmod(flat, len(x))
        new_info = info - outer[chosen[out]] + outer[into]
        new_value = float(criterion(new_info))
        if new_value <= history[-1]:
            break  # rounding made the move look better than it is
        chosen[out], info = into, new_info
        history.append(new_value)
    return chosen, history


def greedy(
    candidates: np.ndarray,
    n: int,
    criterion: Criterion | None = None,
    fixed: np.ndarray | None = None,
) -> list[int]:
    """Add, one at a time, the candidate that raises the criterion most (the exchange's start)."""
    criterion = criterion or d_criterion()
    x = with_intercept(candidates)
    if n > len(x):
        raise UserError(f"{n} subsets asked from only {len(x)} distinct candidates")
    outer = x[:, :, None] * x[:, None, :]
    info = _information(fixed, x.shape[1])
    chosen: list[int] = []
    for _ in range(n):
        values = criterion(info + outer)
        values[chosen] = -np.inf
        best = values.max()
        pick = int(np.flatnonzero(values >= best - _TIE * max(1.0, abs(best)))[0])
        chosen.append(pick)
        info = info + outer[pick]
    return chosen


def _information(fixed: np.ndarray | None, p: int) -> np.ndarray:
    if fixed is None or len(fixed) == 0:
        return np.zeros((p, p))
    rows = with_intercept(fixed)
    return rows.T @ rows
