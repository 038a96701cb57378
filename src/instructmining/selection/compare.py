"""Is the rule's selection better than random n and than the baselines, beyond noise?

The rule's arm is the selection `select --rule` makes (inside the rule's evidence); the rule's
unconstrained top n is the optional baseline `rule-top`, an extrapolation (docs/selection.md).

Every selection is trained once per seed and the same fine-tuned model is evaluated on every
evaluation set (the items the rule was fitted on, the held-out items, each test set), so each
set gets its own interval. Random selection i is drawn with seed i and trained with training
seed i; deterministic selections (the rule, the baselines) are trained with the same seeds.

Two intervals per difference: the paired t over seeds (training noise only; Welch where the
seeds do not line up) and a paired bootstrap that resamples evaluation items and seeds together
(the items are a sample too: a difference on 32 items may not hold on the next 32).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from instructmining.errors import UserError, param
from instructmining.hashing import hash_object
from instructmining.selection.select import score_pool
from instructmining.selection.selectors import RULE_TOP

RUN_COLUMNS = ["selector", "seed", "n", "eval_set", "eval_loss", "subset_id"]
ITEM_COLUMNS = ["selector", "seed", "eval_set", "item_id", "loss_sum", "tokens"]
FIT_SET = "fit"  # the evaluation items the rule was fitted on
T_METHOD = "paired t over seeds"
BOOT_METHOD = "paired bootstrap over items and seeds"


@dataclass(frozen=True)
class Job:
    """One fine-tune: a selection's ids trained with one seed."""

    selector: str
    seed: int
    subset_id: str
    ids: tuple[str, ...]


# Trains the jobs; per-item losses (job index, eval_set, item_id, loss_sum, tokens), or one eval
# loss per job (then there is one evaluation set and no item noise to resample).
Evaluate = Callable[[list[Job]], "pd.DataFrame | list[float]"]


@dataclass
class Comparison:
    """runs: one row per (selector, seed, eval set); summary: one interval per eval set and
    selector; items: each run's loss on each evaluation item; choice: how the rule's selection
    was chosen (`selection.evidence.Choice`), where compare chose one."""

    runs: pd.DataFrame
    summary: pd.DataFrame
    items: pd.DataFrame
    choice: Any = None


def subset_name(label: str, ids: list[str] | tuple[str, ...]) -> str:
    """A subset id that names the selection and changes whenever its examples do, so runs of
    an older rule's selection are never mistaken for the current one's."""
    return f"{label}-{hash_object(sorted(ids), length=8)}"


def top_label(name: str, n: int) -> str:
    """A ranking's top-n subset label: `reward-top8`; `rule-top` gives `rule-top8`, the label
    the rule's arm had when it was the top n, so those runs' records are reused."""
    return f"{name}{n}" if name.endswith("-top") else f"{name}-top{n}"


def plan_jobs(
    pool: pd.DataFrame,
    rankings: dict[str, pd.DataFrame | Sequence[str]],
    seeds: list[int],
    n: int,
) -> list[Job]:
    """Jobs for the deterministic selections in `rankings` and for random n, per seed.

    A ranking (a frame with id, best first) gives its top n; a sequence of ids is a selection
    made already (the rule's, inside its evidence), labelled `NAME-chosenN` so its runs never
    mix with a top n's."""
    jobs = []
    for seed in seeds:
        for name, ranked in rankings.items():
            if isinstance(ranked, pd.DataFrame):
                ids, label = tuple(ranked["id"].head(n)), top_label(name, n)
            else:
                ids, label = tuple(ranked), f"{name}-chosen{n}"
            jobs.append(Job(name, seed, subset_name(label, ids), ids))
        ids = tuple(score_pool(pool[["id"]], "random", seed=seed, progress=False)["id"].head(n))
        jobs.append(Job("random", seed, subset_name(f"random{seed}-top{n}", ids), ids))
    return jobs


def compare_selections(
    pool: pd.DataFrame,
    rankings: dict[str, pd.DataFrame | Sequence[str]],
    evaluate: Evaluate,
    seeds: list[int],
    n: int,
    reference: str = "rule",
    n_boot: int = 2000,
) -> Comparison:
    """Train every selection with every seed and summarise each evaluation set.

    `rankings` maps a deterministic selector's name to its ranking (id, score, rank) or to the
    ids of the selection it made (each of n examples)."""
    if len(seeds) < 2:
        raise UserError("compare needs at least 2 seeds to measure noise")
    if n <= 0 or n > len(pool):
        raise UserError(f"{param('n')} must lie in 1..{len(pool)} (the pool size), got {n}")
    for name, ranked in rankings.items():
        if not isinstance(ranked, pd.DataFrame) and len(ranked) != n:
            raise ValueError(f"selection {name} holds {len(ranked)} examples, not n = {n}")
    jobs = plan_jobs(pool, rankings, seeds, n)
    items = _item_table(jobs, evaluate(jobs))
    runs = _run_table(jobs, items, n)
    return Comparison(
        runs, summarize_comparison(runs, reference, items=items, n_boot=n_boot), items
    )


def _item_table(jobs: list[Job], measured: pd.DataFrame | list[float]) -> pd.DataFrame:
    if not isinstance(measured, pd.DataFrame):  # one loss per job: a single "item" per run
        measured = pd.DataFrame(
            {"job": range(len(jobs)), "eval_set": FIT_SET, "item_id": "all", "tokens": 1}
        ).assign(loss_sum=np.asarray(measured, dtype=float))
    measured = measured.dropna(subset=["loss_sum"])
    job = measured["job"].to_numpy(dtype=int)
    table = measured.assign(
        selector=[jobs[i].selector for i in job], seed=[jobs[i].seed for i in job]
    )
    return table[ITEM_COLUMNS].reset_index(drop=True)


def _run_table(jobs: list[Job], items: pd.DataFrame, n: int) -> pd.DataFrame:
    """Eval loss per (selector, seed, eval set): token-weighted mean over the items; NaN for a
    job that failed."""
    sets = sorted(set(items["eval_set"]), key=_set_order) or [FIT_SET]
    sums = items.groupby(["selector", "seed", "eval_set"])[["loss_sum", "tokens"]].sum()
    loss = (sums["loss_sum"] / sums["tokens"]).to_dict()
    rows = [
        (j.selector, j.seed, n, e, loss.get((j.selector, j.seed, e), np.nan), j.subset_id)
        for e in sets
        for j in jobs
    ]
    return pd.DataFrame(rows, columns=RUN_COLUMNS).astype({"eval_loss": float})


def _set_order(name: str) -> tuple[int, str]:
    return ({FIT_SET: 0, "holdout": 1}.get(name, 2), name)


def difference_interval(
    a: pd.Series, b: pd.Series, confidence: float = 0.95
) -> dict[str, float | str]:
    """Mean of a - b with its confidence interval; `a` and `b` are losses indexed by seed."""
    a, b = a.dropna(), b.dropna()
    common = a.index.intersection(b.index)
    if len(common) >= 2 and len(common) == len(a) == len(b):
        test = stats.ttest_rel(a[common], b[common])
        method, diff = T_METHOD, float((a[common] - b[common]).mean())
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


def paired_bootstrap(
    a_sums: np.ndarray,
    a_tokens: np.ndarray,
    b_sums: np.ndarray,
    b_tokens: np.ndarray,
    n_boot: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile interval of mean over seeds of (loss a - loss b), resampling seeds (rows) and
    evaluation items (columns) together; each loss is the token-weighted mean over the items,
    as the runs measure it. Arrays are (seeds, items), paired by row and column."""
    rng = np.random.default_rng(seed)
    n_seeds, n_items = a_sums.shape
    item_w = rng.multinomial(n_items, np.full(n_items, 1 / n_items), size=n_boot).T  # (I, B)
    seed_w = rng.multinomial(n_seeds, np.full(n_seeds, 1 / n_seeds), size=n_boot)  # (B, S)
    per_seed = (a_sums @ item_w) / (a_tokens @ item_w) - (b_sums @ item_w) / (b_tokens @ item_w)
    stat = np.einsum("bs,sb->b", seed_w, per_seed) / n_seeds
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(stat, [tail, 100 - tail])
    return float(low), float(high)


def _item_matrices(items: pd.DataFrame, selector: str, seeds: list) -> tuple[np.ndarray, ...]:
    mine = items[items["selector"] == selector]
    sums = mine.pivot_table("loss_sum", "seed", "item_id", aggfunc="sum").loc[seeds]
    tokens = mine.pivot_table("tokens", "seed", "item_id", aggfunc="sum").loc[seeds]
    return sums.to_numpy(dtype=float), tokens[sums.columns].to_numpy(dtype=float)


def bootstrap_interval(
    items: pd.DataFrame, reference: str, other: str, n_boot: int = 2000, confidence: float = 0.95
) -> dict[str, float]:
    """The paired bootstrap over the seeds and items both selectors have."""
    nan = {"boot_low": float("nan"), "boot_high": float("nan")}
    pair = items[items["selector"].isin([reference, other])]
    seeds = sorted(set.intersection(*(set(g["seed"]) for _, g in pair.groupby("selector"))))
    if pair["selector"].nunique() < 2 or len(seeds) < 2:
        return nan
    ids = set.intersection(*(set(g["item_id"]) for _, g in pair.groupby("selector")))
    pair = pair[pair["item_id"].isin(ids)]
    a_sums, a_tokens = _item_matrices(pair, reference, seeds)
    b_sums, b_tokens = _item_matrices(pair, other, seeds)
    if np.isnan(a_sums).any() or np.isnan(b_sums).any():  # an item missing from some run
        return nan
    low, high = paired_bootstrap(a_sums, a_tokens, b_sums, b_tokens, n_boot, confidence)
    return {"boot_low": low, "boot_high": high}


def summarize_comparison(
    runs: pd.DataFrame,
    reference: str = "rule",
    confidence: float = 0.95,
    items: pd.DataFrame | None = None,
    n_boot: int = 2000,
) -> pd.DataFrame:
    """Per eval set: mean and sd per selector, and reference - selector with the paired t over
    seeds and the paired bootstrap over items and seeds (negative = the reference selection
    reaches a lower loss)."""
    if "eval_set" not in runs.columns:
        runs = runs.assign(eval_set=FIT_SET)
    rows = []
    order = {reference: 0, "random": 1, RULE_TOP: 2}
    for eval_set in sorted(runs["eval_set"].unique(), key=_set_order):
        mine = runs[runs["eval_set"] == eval_set]
        by_seed = {
            name: group.set_index("seed")["eval_loss"] for name, group in mine.groupby("selector")
        }
        found = []
        for name, losses in by_seed.items():
            row = {
                "eval_set": eval_set,
                "selector": name,
                "runs": int(losses.notna().sum()),
                "mean": float(losses.mean()),
                "sd": float(losses.std(ddof=1)),
            }
            if name != reference and reference in by_seed:
                row.update(difference_interval(by_seed[reference], losses, confidence))
                if items is not None:
                    in_set = items[items["eval_set"] == eval_set]
                    row.update(bootstrap_interval(in_set, reference, name, n_boot, confidence))
            found.append(row)
        found.sort(key=lambda r: (order.get(r["selector"], 3), r["selector"]))
        rows += found
    return pd.DataFrame(rows)
