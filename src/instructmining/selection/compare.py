"""Is the rule's top n better than random n and than single-indicator baselines, beyond noise?

Every selection is trained once per seed. Random selection i is drawn with seed i and trained
with training seed i; deterministic selections (the rule, the baselines) are trained with the
same seeds. Differences are therefore paired by seed: a paired t-interval removes the noise
a training seed shares between selections, which a Welch interval would count twice. Where the
seeds of two selections do not line up (a run failed), the Welch interval is used instead.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from instructmining.errors import UserError
from instructmining.hashing import hash_object
from instructmining.selection.select import score_pool

RUN_COLUMNS = ["selector", "seed", "n", "eval_loss", "subset_id"]


@dataclass(frozen=True)
class Job:
    """One fine-tune: a selection's ids trained with one seed."""

    selector: str
    seed: int
    subset_id: str
    ids: tuple[str, ...]


Evaluate = Callable[[list[Job]], list[float]]


def subset_name(label: str, ids: list[str] | tuple[str, ...]) -> str:
    """A subset id that names the selection and changes whenever its examples do, so runs of
    an older rule's selection are never mistaken for the current one's."""
    return f"{label}-{hash_object(sorted(ids), length=8)}"


def plan_jobs(
    pool: pd.DataFrame, rankings: dict[str, pd.DataFrame], seeds: list[int], n: int
) -> list[Job]:
    """Jobs for the deterministic selections in `rankings` and for random n, per seed."""
    jobs = []
    for seed in seeds:
        for name, ranked in rankings.items():
            ids = tuple(ranked["id"].head(n))
            jobs.append(Job(name, seed, subset_name(f"{name}-top{n}", ids), ids))
        ids = tuple(score_pool(pool[["id"]], "random", seed=seed, progress=False)["id"].head(n))
        jobs.append(Job("random", seed, subset_name(f"random{seed}-top{n}", ids), ids))
    return jobs


def compare_selections(
    pool: pd.DataFrame,
    rankings: dict[str, pd.DataFrame],
    evaluate: Evaluate,
    seeds: list[int],
    n: int,
    reference: str = "rule",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Train every selection with every seed; (runs, summary) tables.

    `rankings` maps a deterministic selector's name to its ranking (id, score, rank);
    `evaluate` trains a list of jobs and returns one eval loss per job (NaN if it failed)."""
    if len(seeds) < 2:
        raise UserError("compare needs at least 2 seeds to measure noise")
    if n <= 0 or n > len(pool):
        raise UserError(f"--n must lie in 1..{len(pool)} (the pool size), got {n}")
    jobs = plan_jobs(pool, rankings, seeds, n)
    losses = evaluate(jobs)
    runs = pd.DataFrame(
        {
            "selector": [j.selector for j in jobs],
            "seed": [j.seed for j in jobs],
            "n": n,
            "eval_loss": np.asarray(losses, dtype=float),
            "subset_id": [j.subset_id for j in jobs],
        }
    )
    return runs, summarize_comparison(runs, reference)


def difference_interval(
    a: pd.Series, b: pd.Series, confidence: float = 0.95
) -> dict[str, float | str]:
    """Mean of a - b with its confidence interval; `a` and `b` are losses indexed by seed."""
    a, b = a.dropna(), b.dropna()
    common = a.index.intersection(b.index)
    if len(common) >= 2 and len(common) == len(a) == len(b):
        test = stats.ttest_rel(a[common], b[common])
        method, diff = "paired t", float((a[common] - b[common]).mean())
    elif len(a) >= 2 and len(b) >= 2:
        test = stats.ttest_ind(a, b, equal_var=False)
        method, diff = "Welch t", float(a.mean() - b.mean())
    else:
        nan = float("nan")
        return {"diff": nan, "diff_low": nan, "diff_high": nan, "p": nan, "method": "too few"}
    ci = test.confidence_interval(confidence)
    return {
        "diff": diff,
        "diff_low": float(ci.low),
        "diff_high": float(ci.high),
        "p": float(test.pvalue),
        "method": method,
    }


def summarize_comparison(
    runs: pd.DataFrame, reference: str = "rule", confidence: float = 0.95
) -> pd.DataFrame:
    """Mean and sd per selector, and reference - selector with a confidence interval
    (negative = the reference selection reaches a lower loss)."""
    by_seed = {
        name: group.set_index("seed")["eval_loss"] for name, group in runs.groupby("selector")
    }
    rows = []
    for name, losses in by_seed.items():
        row = {
            "selector": name,
            "runs": int(losses.notna().sum()),
            "mean": float(losses.mean()),
            "sd": float(losses.std(ddof=1)),
        }
        if name != reference and reference in by_seed:
            row.update(difference_interval(by_seed[reference], losses, confidence))
        rows.append(row)
    order = {reference: 0, "random": 1}
    rows.sort(key=lambda r: (order.get(r["selector"], 2), r["selector"]))
    return pd.DataFrame(rows)
