"""Subsets that lean along random directions of indicator space, so their means spread out.

Dirichlet source mixtures move a subset's mean indicators only as far as the sources differ;
a spread subset takes the examples that score highest on z . u + temperature * noise for a
random unit direction u of the standardised indicators z: a low temperature gives extreme
subsets, a high one nearly random subsets. Everything is drawn from the caller's generator over
examples sorted by id, so the same seed gives the same subsets on any machine.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from instructmining.errors import UserError, param
from instructmining.sampling.mixtures import allocate

DEFAULT_TEMPERATURE = 1.0


@dataclass(frozen=True)
class IndicatorSpace:
    """Examples with every design column, sorted by id, and their standardised values."""

    ids: np.ndarray
    sources: np.ndarray
    z: np.ndarray
    columns: list[str]

    def means(self, members: Sequence[np.ndarray]) -> np.ndarray:
        """Each subset's mean of the standardised indicators (subsets as row positions)."""
        return np.array([self.z[rows].mean(axis=0) for rows in members])

    def positions(self, ids: Sequence[str]) -> np.ndarray:
        """Row positions of example ids (every id must be in the space)."""
        found = np.searchsorted(self.ids, ids)
        found = np.minimum(found, len(self.ids) - 1)
        missing = self.ids[found] != np.asarray(ids, dtype=object)
        if missing.any():
            first = np.asarray(ids, dtype=object)[missing][0]
            raise UserError(f"example {first} has no value for every design column")
        return found


def indicator_space(
    pool: pd.DataFrame, indicators: pd.DataFrame, columns: Sequence[str] | None = None
) -> IndicatorSpace:
    """Standardise the named indicator columns (default: every numeric one that varies) over
    the pool's examples that have them all."""
    if "id" not in indicators.columns:
        raise UserError("the indicators table has no id column")
    numeric = [
        c for c in indicators.columns if c != "id" and pd.api.types.is_numeric_dtype(indicators[c])
    ]
    if columns:
        missing = [c for c in columns if c not in indicators.columns]
        if missing:
            raise UserError(
                f"indicator column(s) {', '.join(missing)} not in the indicators table "
                f"(it has: {', '.join(numeric) or 'none'})"
            )
        wrong = [c for c in columns if c not in numeric]
        if wrong:
            raise UserError(f"indicator column(s) {', '.join(wrong)} are not numeric")
        chosen = list(dict.fromkeys(columns))
    else:
        chosen = [c for c in numeric if indicators[c].nunique(dropna=True) > 1]
        if not chosen:
            raise UserError("the indicators table has no numeric column that varies")
    table = pool[["id", "source"]].merge(
        indicators[["id", *chosen]].drop_duplicates("id"), on="id", how="inner"
    )
    values = table[chosen].to_numpy(dtype=np.float64)
    table = table[np.isfinite(values).all(axis=1)].sort_values("id", kind="stable")
    values = table[chosen].to_numpy(dtype=np.float64)
    sd = values.std(axis=0, ddof=1) if len(values) > 1 else np.zeros(len(chosen))
    flat = [c for c, s in zip(chosen, sd, strict=True) if not s > 0]
    if flat:
        raise UserError(
            f"indicator column(s) {', '.join(flat)} do not vary over the pool's examples "
            f"with indicators ({len(values)}); leave them out with {param('columns')}"
        )
    z = (values - values.mean(axis=0)) / sd
    ids = table["id"].astype(str).to_numpy(dtype=object)
    return IndicatorSpace(ids, table["source"].astype(str).to_numpy(dtype=object), z, chosen)


def check_room(space: IndicatorSpace, size: int) -> None:
    """A subset of `size` must fit in the examples that have every design column."""
    if size > len(space.ids):
        raise UserError(
            f"subset size {size} is larger than the {len(space.ids)} examples with a value for "
            f"every design column ({', '.join(space.columns)})"
        )


def spread_subset(
    space: IndicatorSpace,
    size: int,
    rng: np.random.Generator,
    temperature: float = DEFAULT_TEMPERATURE,
    alpha: float | None = None,
    sources: Sequence[str] | None = None,
) -> np.ndarray:
    """Row positions of one subset: the top `size` scores along a random direction, within a
    Dirichlet(alpha) source mixture when `alpha` is given (positions sorted, all distinct)."""
    direction = rng.standard_normal(space.z.shape[1])
    direction /= np.linalg.norm(direction) or 1.0
    score = space.z @ direction + temperature * rng.standard_normal(len(space.z))
    if alpha is None:
        return np.sort(np.argsort(-score, kind="stable")[:size])
    picked = [
        rows[np.argsort(-score[rows], kind="stable")[:count]]
        for rows, count in _source_quotas(space, size, rng, alpha, sources)
    ]
    return np.sort(np.concatenate(picked))


def mixture_subset(
    space: IndicatorSpace,
    size: int,
    rng: np.random.Generator,
    alpha: float,
    sources: Sequence[str] | None = None,
) -> np.ndarray:
    """Row positions of a random subset with a Dirichlet(alpha) source mixture (the candidates
    `sample_subsets` would draw, restricted to examples with indicators)."""
    picked = [
        rows[rng.choice(len(rows), size=int(count), replace=False)]
        for rows, count in _source_quotas(space, size, rng, alpha, sources)
    ]
    return np.sort(np.concatenate(picked))


def _source_quotas(
    space: IndicatorSpace,
    size: int,
    rng: np.random.Generator,
    alpha: float,
    sources: Sequence[str] | None,
) -> list[tuple[np.ndarray, int]]:
    """Each source's rows and how many of them a Dirichlet(alpha) mixture of `size` takes."""
    names = list(sources) if sources else sorted(set(space.sources))
    rows_by_source = [np.flatnonzero(space.sources == s) for s in names]
    capacity = np.array([len(rows) for rows in rows_by_source])
    counts = allocate(rng.dirichlet(np.full(len(names), alpha)), size, capacity)
    return [(rows, int(c)) for rows, c in zip(rows_by_source, counts, strict=True)]
