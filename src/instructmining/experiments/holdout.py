"""Held-out items of the fit set: a seeded split the rule is never fitted on.

A rule fitted to losses on 32 items and then judged on the same 32 is judged on its own
training data. The split is drawn once, by id, and recorded in the workspace (holdout.json), so
every later stage (fit on one part, compare and search report the other) uses the same items.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from instructmining.errors import UserError, param
from instructmining.hashing import hash_object
from instructmining.storage import write_json
from instructmining.workspace import Workspace

HOLDOUT = "holdout"  # the held-out part's name among the evaluation sets


def split_holdout(
    items: pd.DataFrame, holdout: float, seed: int = 0
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(fit part, held-out part): a seeded draw of round(holdout * n) items by id, at least
    one item in each part; the same items, share and seed always give the same split."""
    if not 0 < holdout < 1:
        raise UserError(f"{param('holdout')} must lie strictly between 0 and 1, got {holdout}")
    if items["id"].duplicated().any():
        raise UserError("evaluation items have duplicate ids; cannot split them by id")
    ordered = items.sort_values("id", kind="stable").reset_index(drop=True)
    if len(ordered) < 2:
        raise UserError(f"{len(ordered)} evaluation item(s) are too few to hold some out")
    size = min(max(round(holdout * len(ordered)), 1), len(ordered) - 1)
    held = np.zeros(len(ordered), dtype=bool)
    held[np.random.default_rng(seed).choice(len(ordered), size=size, replace=False)] = True
    return ordered[~held].reset_index(drop=True), ordered[held].reset_index(drop=True)


def write_holdout(
    workspace: Workspace | Path, eval_file: Path, holdout: float, seed: int = 0
) -> tuple[Path, Path]:
    """Split `eval_file`'s items into WS/eval_fit.parquet and WS/eval_holdout.parquet and record
    the split in WS/holdout.json; returns the two paths."""
    from instructmining.data import read_examples, write_pool

    items = read_examples(eval_file)
    if items.empty:
        raise UserError(f"{eval_file}: the evaluation set has no examples with responses")
    fit, held = split_holdout(items, holdout, seed)
    ws = Workspace.of(workspace)
    write_pool(fit, ws.eval_fit)
    write_pool(held, ws.eval_holdout)
    write_json(
        {
            "source": ws.relative(Path(eval_file).resolve()),
            "fraction": holdout,
            "seed": seed,
            "items": hash_object(sorted(items["id"])),
            "fit_ids": list(fit["id"]),
            "holdout_ids": list(held["id"]),
        },
        ws.holdout,
    )
    return ws.eval_fit, ws.eval_holdout
