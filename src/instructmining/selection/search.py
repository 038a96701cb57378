"""How many of the rule's top examples to keep: BlendSearch over n (FLAML).

Loss against n is not monotone (the paper reports double descent), so the search mixes a local
search started at the cheap end (`low_cost_partial_config`: small n trains fastest) with a
global one. Each n is evaluated once: a repeated proposal is answered from memory, and the
experiments stage also skips runs it has already finished.
"""

from __future__ import annotations

import logging
import math
import time
import warnings
from collections.abc import Callable
from typing import Any

import pandas as pd

from instructmining.errors import UserError, param
from instructmining.progress import progress_bar

Objective = Callable[[int], "float | dict[str, float]"]
SEARCH_COLUMNS = ["trial", "n", "eval_loss", "holdout_loss", "test_loss", "seconds", "cached"]


def search_size(
    objective: Objective,
    n_min: int,
    n_max: int,
    trials: int,
    time_budget: float | None = None,
    seed: int = 0,
    progress: bool = True,
    on_trial: Callable[[pd.DataFrame], None] | None = None,
) -> pd.DataFrame:
    """Minimise `objective(n)` (eval loss, or a dict with eval_loss and optional holdout_loss,
    test_loss and test_loss__NAME, reported, never optimised)
    over integers in [n_min, n_max]; one row per trial, in order. `on_trial` receives the
    trials so far after each one (to save them as they come)."""
    if n_min < 1 or n_max <= n_min:
        raise UserError(
            f"need 1 <= {param('n_min')} < {param('n_max')}, got {param('n_min')} {n_min} "
            f"{param('n_max')} {n_max}"
        )
    if trials < 1:
        raise UserError(f"{param('trials')} must be at least 1, got {trials}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from flaml import BlendSearch, tune
    # BlendSearch logs every proposal and warns about repeated configs; the progress bar and
    # the trials table say what matters.
    logging.getLogger("optuna").setLevel(logging.ERROR)
    logging.getLogger("flaml").setLevel(logging.ERROR)

    memo: dict[int, dict[str, float]] = {}
    rows: list[dict[str, Any]] = []
    bar = progress_bar("trial", transient=False) if progress else None
    task = bar.add_task("size search", total=trials, status="") if bar else None

    def evaluate(config: dict[str, Any]) -> dict[str, float]:
        n = min(max(int(config["n"]), n_min), n_max)
        cached = n in memo
        started = time.perf_counter()
        if not cached:
            result = objective(n)
            memo[n] = result if isinstance(result, dict) else {"eval_loss": float(result)}
        found = memo[n]
        rows.append(
            {
                "trial": len(rows),
                "n": n,
                "eval_loss": float(found["eval_loss"]),
                "holdout_loss": float(found.get("holdout_loss", math.nan)),
                "test_loss": float(found.get("test_loss", math.nan)),
                "seconds": 0.0 if cached else time.perf_counter() - started,
                "cached": cached,
                **{k: float(v) for k, v in found.items() if k.startswith("test_loss__")},
            }
        )
        if on_trial is not None:
            on_trial(_trials_table(rows))
        if bar is not None:
            best = min(r["eval_loss"] for r in rows)
            bar.update(
                task, advance=1, status=f"n={n} loss={found['eval_loss']:.4f} best={best:.4f}"
            )
        loss = float(found["eval_loss"])
        return {"eval_loss": loss if math.isfinite(loss) else math.inf}  # a failed run is worst

    space = {"n": tune.lograndint(n_min, n_max + 1)}  # upper bound exclusive
    algorithm = BlendSearch(
        metric="eval_loss",
        mode="min",
        space=space,
        low_cost_partial_config={"n": n_min},
        seed=seed,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if bar is not None:
            bar.start()
        try:
            tune.run(
                evaluate,
                search_alg=algorithm,
                metric="eval_loss",
                mode="min",
                num_samples=trials,
                time_budget_s=time_budget,
                verbose=0,
            )
        finally:
            if bar is not None:
                bar.stop()
    return _trials_table(rows)


def _trials_table(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """The trials in SEARCH_COLUMNS, then a test_loss__NAME column per test set (with two or
    more sets; with one, test_loss is that set's)."""
    extra = sorted({k for row in rows for k in row if k.startswith("test_loss__")})
    return pd.DataFrame(rows, columns=SEARCH_COLUMNS + extra)


def best_trial(trials: pd.DataFrame) -> pd.Series:
    """The trial with the lowest eval loss (the earliest among equals)."""
    if trials.empty:
        raise UserError("the size search finished no trial")
    return trials.loc[trials["eval_loss"].idxmin()]
