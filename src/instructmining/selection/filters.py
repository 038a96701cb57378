"""Narrowing a ranking before its top n is taken: where -> dedup -> rank -> diversity -> top n.

1. `where`: only the examples that meet the condition (selection/where.py) are candidates.
2. `dedup`: of each group of duplicates among them (selection/dedup.py) the best-ranked is kept.
3. rank: the selector's score orders what remains (1 = best).
4. `diversity`: walking that order, an example closer than the threshold to one already kept
   is dropped (selection/diversity.py); the walk stops once n are kept.
5. top n: the first n candidates left.

The ranking keeps every pool example: a dropped one has no rank, `excluded` says which step
dropped it (where, duplicate, diversity) and `near` names the kept example it duplicates or lies
too close to. Scores are computed once, over the whole pool, so a pool-wide indicator (knn)
means the same with or without a filter.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from instructmining.errors import UserError, param
from instructmining.rule.model import Rule
from instructmining.selection.dedup import DEFAULT_THRESHOLD, check_dedup, find_duplicates
from instructmining.selection.diversity import (
    DEFAULT_DISTANCE,
    check_diversity_threshold,
    diverse_walk,
    example_vectors,
)
from instructmining.selection.select import ensure_indicators, score_with_values
from instructmining.selection.selectors import Selector
from instructmining.selection.where import STRING_COLUMNS, Where, parse_where

ORDER = "where -> dedup -> rank -> diversity -> top n"
STEPS = {"where": "where", "duplicate": "dedup", "diversity": "diversity"}  # reason -> setting


@dataclass(frozen=True)
class SelectFilters:
    """What narrows the pool before its top n; checked when made, before any work."""

    where: str | None = None
    dedup: str | None = None  # exact or minhash
    dedup_threshold: float = DEFAULT_THRESHOLD  # MinHash Jaccard similarity, (0, 1]
    diversity: bool = False
    diversity_threshold: float = DEFAULT_DISTANCE  # cosine distance, [0, 2)

    def __post_init__(self) -> None:
        check_dedup(self.dedup, self.dedup_threshold)
        check_diversity_threshold(self.diversity_threshold)
        self.condition()

    def condition(self) -> Where | None:
        return parse_where(self.where) if self.where else None

    @property
    def active(self) -> bool:
        return bool(self.where or self.dedup or self.diversity)


def where_columns(pool: pd.DataFrame, indicators: pd.DataFrame | None, options: Any) -> list[str]:
    """What a condition may name: the pool's source, the precomputed indicator columns and every
    column an indicator can compute."""
    from instructmining.indicators import IndicatorOptions
    from instructmining.indicators.registry import INDICATOR_NAMES, indicator_columns

    given = [c for c in indicators.columns if c != "id"] if indicators is not None else []
    pool_columns = [c for c in STRING_COLUMNS if c in pool.columns]
    computable = indicator_columns(list(INDICATOR_NAMES), options or IndicatorOptions())
    return list(dict.fromkeys([*pool_columns, *given, *computable]))


def rank_pool(
    pool: pd.DataFrame,
    selector: str | Selector = "rule",
    n: int | None = None,
    filters: SelectFilters | None = None,
    rule: Rule | None = None,
    indicators: pd.DataFrame | None = None,
    options: Any = None,
    cache_dir: Path | None = None,
    seed: int = 0,
    knn_k: int = 6,
    progress: bool = True,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """`score_pool`'s ranking narrowed by `filters` (the module's order), and the indicator
    values it scored (`score_with_values`: selecting inside a rule's evidence needs both); `n`
    ends the diversity walk. Without filters the ranking is `score_pool`'s unchanged."""
    filters = filters or SelectFilters()
    condition = filters.condition()
    if condition is not None:  # an unknown column fails before any indicator is computed
        condition.check_columns(where_columns(pool, indicators, options))
    ranked, scored = score_with_values(
        pool,
        selector,
        rule=rule,
        indicators=indicators,
        options=options,
        cache_dir=cache_dir,
        seed=seed,
        knn_k=knn_k,
        progress=progress,
    )
    if not filters.active:
        return ranked, scored
    records = pool.drop_duplicates("id").assign(id=lambda f: f["id"].astype(str))
    in_order = ranked[["id"]].merge(records, on="id", how="left")
    excluded = pd.Series(None, index=range(len(ranked)), dtype=object)
    near = pd.Series(None, index=range(len(ranked)), dtype=object)
    if condition is not None:
        numeric = [c for c in condition.columns if c not in STRING_COLUMNS]
        values = ensure_indicators(pool, numeric, indicators, options, cache_dir, progress)
        values = values.assign(id=values["id"].astype(str)).drop_duplicates("id")
        table = in_order[["id", *[c for c in STRING_COLUMNS if c in in_order]]]
        table = table.merge(values, on="id", how="left")
        excluded[~condition.mask(table)] = "where"
    if filters.dedup:
        live = in_order[excluded.isna().to_numpy()]
        found = find_duplicates(live, filters.dedup, filters.dedup_threshold)
        dropped = in_order["id"].isin(set(found)).to_numpy()
        excluded[dropped] = "duplicate"
        near[dropped] = in_order["id"][dropped].map(found).to_numpy()
    if filters.diversity:
        positions = np.flatnonzero(excluded.isna().to_numpy())
        live = in_order.iloc[positions]
        vectors = example_vectors(live, options, cache_dir, progress)
        kept, nearest, walked = diverse_walk(vectors, filters.diversity_threshold, limit=n)
        refused = positions[:walked][~kept[:walked]]
        excluded[refused] = "diversity"
        near[refused] = live["id"].to_numpy()[nearest[:walked][~kept[:walked]]]
    return _renumber(ranked, excluded, near, filters), scored


def _renumber(
    ranked: pd.DataFrame, excluded: pd.Series, near: pd.Series, filters: SelectFilters
) -> pd.DataFrame:
    """The candidates ranked 1.. in their order, then the dropped examples without a rank."""
    out = ranked.reset_index(drop=True).assign(excluded=excluded.to_numpy(), near=near.to_numpy())
    keep = out["excluded"].isna()
    out = pd.concat([out[keep], out[~keep]], ignore_index=True)
    out["rank"] = pd.array(
        [*range(1, int(keep.sum()) + 1), *[pd.NA] * int((~keep).sum())], dtype="Int64"
    )
    out.attrs.update(ranked.attrs)
    out.attrs["filters"] = {
        "order": ORDER,
        **{k: v for k, v in vars(filters).items() if v not in (None, False)},
        "excluded": out["excluded"].value_counts().to_dict(),
    }
    return out


def candidates(ranked: pd.DataFrame, n: int) -> pd.DataFrame:
    """The ranking's rows that may be selected, refusing an `n` larger than what is left."""
    if "excluded" not in ranked.columns:
        return ranked
    left = ranked[ranked["excluded"].isna()]
    if n > len(left):
        counts = ranked["excluded"].value_counts()
        steps = ", ".join(f"{param(STEPS[k])} dropped {v}" for k, v in counts.items())
        raise UserError(
            f"only {len(left)} of {len(ranked)} examples remain ({steps}), fewer than the {n} "
            f"asked for; lower {param('top')} or {param('fraction')}, or loosen the filters"
        )
    return left
