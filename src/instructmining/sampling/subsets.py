"""Random subsets of a pool with varied source mixtures, the training sets of the experiments.

Each subset draws its source proportions from a symmetric Dirichlet(alpha): a small alpha gives
mostly single-source subsets, a large one evenly mixed subsets, so the subsets spread along the
indicators a rule is fitted on. Everything is drawn from `numpy.random.default_rng(seed)` over
the pool sorted by id and the sources sorted by name, so the same seed gives the same subsets
whatever the row order (same numpy version).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from instructmining.errors import UserError
from instructmining.sampling.mixtures import allocate

DEFAULT_ALPHA = 0.5
# subsets x size rows are held in memory while sampling (about 100 bytes each): 10 million rows
# is 10,000 subsets of 1,000, far beyond what anyone fine-tunes, and about a gigabyte.
MAX_SAMPLED_ROWS = 10_000_000
# The mixtures table keys its rows by this column, so no source may take its name.
_KEY = "subset_id"


def subset_name(index: int, n_subsets: int) -> str:
    """`s000`, `s001`, ...: zero-padded so names sort in order."""
    return f"s{index:0{max(3, len(str(n_subsets - 1)))}d}"


def sample_subsets(
    pool: pd.DataFrame,
    n_subsets: int,
    size: int,
    seed: int,
    alpha: float = DEFAULT_ALPHA,
    sources: Sequence[str] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """`n_subsets` subsets of `size` distinct examples each (subsets may share examples).

    Returns the subsets table (subset_id, id) and the mixtures table (subset_id and the
    realised share of each source).
    """
    if n_subsets < 1:
        raise UserError(f"the number of subsets must be at least 1 (got {n_subsets})")
    if size < 1:
        raise UserError(f"the subset size must be at least 1 (got {size})")
    if not (alpha > 0 and math.isfinite(alpha)):
        raise UserError(f"alpha must be positive and finite (got {alpha})")
    if n_subsets * size > MAX_SAMPLED_ROWS:
        raise UserError(
            f"{n_subsets} subsets of {size} is {n_subsets * size} rows, more than the limit of "
            f"{MAX_SAMPLED_ROWS:,} (subsets x size); ask for fewer or smaller subsets"
        )
    if seed < 0:
        raise UserError(f"the seed must be zero or positive (got {seed})")
    if pool.empty:
        raise UserError("the pool has no examples")
    ids_by_source = _ids_by_source(pool, sources)
    names = sorted(ids_by_source)
    capacity = np.array([len(ids_by_source[s]) for s in names])
    if size > capacity.sum():
        held = ", ".join(f"{s} {c}" for s, c in zip(names, capacity, strict=True))
        raise UserError(
            f"subset size {size} is larger than the {capacity.sum()} examples the chosen "
            f"sources hold ({held})"
        )
    total = int(capacity.sum())
    if _distinct_subsets_below(total, size, n_subsets):
        raise UserError(
            f"{n_subsets} subsets of {size} is more than the {math.comb(total, size)} distinct "
            f"subsets a pool of {total} holds; ask for fewer or smaller subsets"
        )
    rng = np.random.default_rng(seed)
    subset_rows, mixture_rows = [], []
    for index in range(n_subsets):
        name = subset_name(index, n_subsets)
        counts = allocate(rng.dirichlet(np.full(len(names), alpha)), size, capacity)
        for source, count in zip(names, counts, strict=True):
            pool_ids = ids_by_source[source]
            picked = np.sort(rng.choice(len(pool_ids), size=int(count), replace=False))
            subset_rows += [(name, pool_ids[i]) for i in picked]
        mixture_rows.append([name, *(counts / size)])
    subsets = pd.DataFrame(subset_rows, columns=["subset_id", "id"])
    mixtures = pd.DataFrame(mixture_rows, columns=["subset_id", *names])
    return subsets, mixtures


def _ids_by_source(pool: pd.DataFrame, sources: Sequence[str] | None) -> dict[str, list[str]]:
    missing = [c for c in ("id", "source") if c not in pool.columns]
    if missing:
        raise UserError(f"the pool has no column(s) {', '.join(missing)}")
    if pool["id"].duplicated().any():
        raise UserError("the pool has repeated ids; rebuild it with `instructmining pool build`")
    known = sorted(pool["source"].unique())
    if _KEY in known:
        raise UserError(
            f"a source is named {_KEY!r}, the key column of the mixtures table; rename it "
            "(`pool build --source NAME`)"
        )
    chosen = list(dict.fromkeys(sources)) if sources else known
    unknown = [s for s in chosen if s not in known]
    if unknown:
        raise UserError(
            f"unknown source(s) {', '.join(unknown)} (the pool has: {', '.join(known)})"
        )
    ordered = pool[pool["source"].isin(chosen)].sort_values("id", kind="stable")
    return {s: ordered.loc[ordered["source"] == s, "id"].tolist() for s in chosen}


def _distinct_subsets_below(total: int, size: int, wanted: int) -> bool:
    """Whether fewer than `wanted` distinct `size`-subsets of `total` examples exist (log-space
    first, so a large pool costs nothing)."""
    log_comb = math.lgamma(total + 1) - math.lgamma(size + 1) - math.lgamma(total - size + 1)
    return log_comb < math.log(wanted) + 1 and math.comb(total, size) < wanted
