"""Do two evaluation sets agree about which subsets are good? Spearman across subsets, with a
bootstrap interval over subsets, and the same in plain sentences.

Stored in rule.json as `eval_agreement`: a list of
`{"a", "b", "spearman", "ci_low", "ci_high", "n_subsets"}`, one per pair of sets with runs.
An interval wholly below zero means "good data" differs between the two sets: a rule fitted on
one of them picks data that is worse on the other.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

N_BOOT = 2000
LEVEL = 0.95
SEED = 0
MIN_SUBSETS = 4


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman's rho; NaN when either side is constant."""
    if len(x) < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return math.nan
    return float(stats.spearmanr(x, y).statistic)


def bootstrap_spearman(
    x: np.ndarray, y: np.ndarray, n_boot: int = N_BOOT, level: float = LEVEL, seed: int = SEED
) -> tuple[float, float]:
    """Percentile interval of Spearman's rho over subsets resampled with replacement (resamples
    with a constant side are skipped)."""
    rng = np.random.default_rng(seed)
    pick = rng.integers(0, len(x), (n_boot, len(x)))
    a = stats.rankdata(np.asarray(x)[pick], axis=1)
    b = stats.rankdata(np.asarray(y)[pick], axis=1)
    a -= a.mean(axis=1, keepdims=True)
    b -= b.mean(axis=1, keepdims=True)
    norm = np.sqrt((a * a).sum(axis=1) * (b * b).sum(axis=1))
    varied = norm > 0
    values = (a * b).sum(axis=1)[varied] / norm[varied]
    if varied.sum() < n_boot / 2:
        return math.nan, math.nan
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(values, [tail, 100 - tail])
    return float(low), float(high)


def eval_agreement(
    losses: pd.DataFrame, n_boot: int = N_BOOT, level: float = LEVEL, seed: int = SEED
) -> list[dict[str, Any]]:
    """For every pair of sets (columns of `losses`, one row per subset): Spearman of their losses
    across the subsets both have, with a bootstrap interval over subsets."""
    out = []
    for a, b in itertools.combinations(losses.columns, 2):
        both = losses[[a, b]].astype(float).dropna()
        x, y = both[a].to_numpy(), both[b].to_numpy()
        rho = spearman(x, y)
        low, high = (
            bootstrap_spearman(x, y, n_boot, level, seed)
            if len(both) >= MIN_SUBSETS and math.isfinite(rho)
            else (math.nan, math.nan)
        )
        out.append(
            {
                "a": str(a),
                "b": str(b),
                "spearman": rho,
                "ci_low": low,
                "ci_high": high,
                "n_subsets": int(len(both)),
            }
        )
    return out


def agreement_matrix(agreement: list[dict[str, Any]]) -> pd.DataFrame:
    """Sets × sets Spearman (1 on the diagonal) from `eval_agreement` records."""
    names = list(dict.fromkeys(n for r in agreement for n in (r["a"], r["b"])))
    matrix = pd.DataFrame(np.eye(len(names)), index=names, columns=names)
    for r in agreement:
        value = r["spearman"] if r["spearman"] is not None else math.nan
        matrix.loc[r["a"], r["b"]] = matrix.loc[r["b"], r["a"]] = value
    return matrix


def verdict(record: dict[str, Any]) -> str:
    """`disagree` (interval below zero), `agree` (above zero) or `unclear`."""
    low, high = record.get("ci_low"), record.get("ci_high")
    if _finite(high) and high < 0:
        return "disagree"
    if _finite(low) and low > 0:
        return "agree"
    return "unclear"


def preferred_sources(source_view: list[dict[str, Any]], name: str) -> list[str]:
    """Dominant sources ordered from the lowest mean loss on set `name` to the highest."""
    scored = [
        (r["loss"][name], r["source"])
        for r in source_view
        if _finite((r.get("loss") or {}).get(name))
    ]
    return [source for _, source in sorted(scored)]


def agreement_sentences(
    agreement: list[dict[str, Any]], source_view: list[dict[str, Any]] | None = None
) -> list[str]:
    """One plain sentence per pair of sets (`eval_agreement` records), saying where "good
    data" differs and, from the per-source view (`source_view` of rule.json), which sources
    each set prefers."""
    lines = []
    for r in agreement:
        a, b, n = r["a"], r["b"], r["n_subsets"]
        if not _finite(r.get("spearman")):
            lines.append(
                f"{a} and {b}: no agreement measured (losses do not vary across the {n} "
                "subsets, or too few subsets)."
            )
            continue
        figures = f"Spearman {r['spearman']:+.2f}, 95% CI {_ci(r)}, {n} subsets"
        kind = verdict(r)
        if kind == "disagree":
            text = (
                f'"Good data" differs between {a} and {b} ({figures}): subsets that do well on '
                f"{a} do badly on {b}, so a rule fitted on one picks data that is worse on the "
                "other."
            )
            text += _preferences(source_view, a, b)
        elif kind == "agree":
            text = f"{a} and {b} agree on which subsets are good ({figures})."
        else:
            text = (
                f"{a} and {b}: no clear agreement or disagreement ({figures}); the interval "
                "includes zero."
            )
            text += _preferences(source_view, a, b)
        lines.append(text)
    return lines


def _preferences(source_view: list[dict[str, Any]] | None, a: str, b: str) -> str:
    best_a = preferred_sources(source_view or [], a)
    best_b = preferred_sources(source_view or [], b)
    if not best_a or not best_b:
        return ""
    if best_a[0] == best_b[0]:
        return f" Both sets do best on {best_a[0]}-dominated subsets."
    return (
        f" {a} prefers {best_a[0]}-dominated subsets (worst: {best_a[-1]}); {b} prefers "
        f"{best_b[0]}-dominated subsets (worst: {best_b[-1]})."
    )


def _ci(record: dict[str, Any]) -> str:
    if not (_finite(record.get("ci_low")) and _finite(record.get("ci_high"))):
        return "not measured"
    return f"{record['ci_low']:+.2f} to {record['ci_high']:+.2f}"


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
