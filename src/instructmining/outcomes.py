"""Facts about fine-tuning outcomes that every stage states the same way: the base model's row
and seed noise. A light module (numpy and pandas only), so the report needs no training code."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

# subset_id of the base model's run without fine-tuning (reserved: no sampled subset uses it).
BASELINE = "__base__"


def pooled_sd(sds: pd.Series | np.ndarray, counts: pd.Series | np.ndarray) -> float:
    """Pooled within-group sd from per-group sds and sizes: each group weighs by its degrees of
    freedom (n - 1), so a subset run with five seeds counts more than one run with two; groups
    of one run carry no information. NaN when no group has two or more runs."""
    sds = np.asarray(sds, dtype=float)
    dof = np.asarray(counts, dtype=float) - 1
    keep = (dof > 0) & np.isfinite(sds)
    if not keep.any():
        return math.nan
    return float(np.sqrt((sds[keep] ** 2 * dof[keep]).sum() / dof[keep].sum()))


def seed_noise(runs: pd.DataFrame) -> float:
    """Seed noise: the pooled sd of eval loss across training seeds of the same subset (the base
    model's row aside), over subsets run with two or more seeds; NaN if none was."""
    trained = runs[runs["subset_id"] != BASELINE]
    groups = trained.groupby("subset_id")["eval_loss"]
    return pooled_sd(groups.std(ddof=1), groups.count())


def subset_id_text(ids: pd.Series) -> pd.Series:
    """Subset ids as text, however the user's table stored them.

    pandas writes integer ids by default (and floats like 3.0 once a column has a gap), while
    runs and subsets written by this tool hold text; comparing 3 with "3" would leave every
    subset without its indicator means. Integral numbers become their integer text."""

    def text(value: object) -> object:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return value
        if isinstance(value, float | np.floating) and float(value).is_integer():
            return str(int(value))
        return str(value)

    return ids.map(text).astype(object)


def with_text_ids(table: pd.DataFrame) -> pd.DataFrame:
    """`table` with its `subset_id` column (where it has one) as text (`subset_id_text`)."""
    if "subset_id" not in table.columns:
        return table
    return table.assign(subset_id=subset_id_text(table["subset_id"]))
