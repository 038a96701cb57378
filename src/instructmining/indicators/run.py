"""Run indicators over a pool: the cache decides what is missing, batches compute it.

For each indicator the runner looks up every stored value under the indicator's spec (name,
version, model identity, parameters, precision), computes only the missing ones in
length-sorted batches, and commits each batch before starting the next; a killed run loses at
most the batch in flight and a rerun continues where it stopped. Where the batches are
computed (this process, or Ray actors) is a `BatchExecutor` (indicators/batches.py): this loop,
the cache and the progress are the same for both.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from instructmining.errors import UserError
from instructmining.hashing import hash_object
from instructmining.indicators.base import Indicator, RunContext, plan_batches
from instructmining.indicators.batches import BatchExecutor, LocalBatches
from instructmining.indicators.cache import ValueCache
from instructmining.indicators.options import IndicatorOptions
from instructmining.indicators.registry import instantiate
from instructmining.models.loader import cache_root
from instructmining.outcomes import with_text_ids
from instructmining.progress import progress_bar

TEXT_COLUMNS = ("instruction", "input", "output", "system", "messages")  # messages: kept whole


def default_cache_dir() -> Path:
    return cache_root() / "indicators"


@dataclass
class IndicatorStats:
    """What one indicator did in a run: examples computed and found cached, batches, time."""

    name: str
    computed: int = 0
    cached: int = 0
    batches: int = 0
    seconds: float = 0.0


@dataclass
class IndicatorRun:
    """The values table (id + one column per output) and what the run did."""

    table: pd.DataFrame
    stats: list[IndicatorStats] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def summary(self) -> pd.DataFrame:
        """Per column: values, nulls and mean."""
        columns = [c for c in self.table.columns if c != "id"]
        return pd.DataFrame(
            {
                "column": columns,
                "count": [int(self.table[c].notna().sum()) for c in columns],
                "nulls": [int(self.table[c].isna().sum()) for c in columns],
                "mean": [float(self.table[c].mean()) for c in columns],
            }
        )


def normalise_pool(pool: pd.DataFrame) -> pd.DataFrame:
    """The pool's id and text columns as strings (missing text is empty), one row per id."""
    missing = [c for c in ("id", "instruction", "output") if c not in pool.columns]
    if missing:
        raise UserError(f"pool table lacks column(s) {', '.join(missing)}")
    frame = pd.DataFrame({"id": pool["id"].astype(str)})
    for column in TEXT_COLUMNS:
        values = pool[column] if column in pool.columns else pd.Series("", index=pool.index)
        frame[column] = values.fillna("").astype(str)
    return frame.drop_duplicates("id").reset_index(drop=True)


def run_indicators(
    pool: pd.DataFrame,
    names: str | list[str],
    options: IndicatorOptions | None = None,
    cache_dir: Path | None = None,
    progress: bool = True,
    batches: BatchExecutor | None = None,
) -> IndicatorRun:
    """Values of the named indicators for every example of `pool`, with run statistics.

    `cache_dir` defaults to ~/.cache/instructmining/indicators ($INSTRUCTMINING_CACHE);
    `batches` computes the planned batches (default: in this process).
    """
    batches = batches or LocalBatches()
    options = options or IndicatorOptions()
    frame = normalise_pool(pool)
    indicators = instantiate(names, options)
    cache = ValueCache(Path(cache_dir) if cache_dir is not None else default_cache_dir())
    bar = progress_bar("ex") if progress else None
    ctx = RunContext(options=options, cache=cache, progress=bar)
    table = frame[["id"]].copy()
    stats = []
    try:
        for indicator in indicators:
            values, stat = _run_one(indicator, frame, ctx, batches)
            table = pd.concat([table, values], axis=1)
            stats.append(stat)
            ctx.notes.extend(_null_notes(indicator, values))
    finally:
        cache.close()
        if bar is not None and bar.live.is_started:
            bar.stop()
    return IndicatorRun(table=table, stats=stats, notes=ctx.notes)


def _null_notes(indicator: Indicator, values: pd.DataFrame) -> list[str]:
    """One line per output column with empty values, saying why they are empty."""
    if indicator.null_reason is None:
        return []
    return [
        f"{column}: {n} empty value(s): {indicator.null_reason}"
        for column in values.columns
        if (n := int(values[column].isna().sum()))
    ]


def compute_indicators(
    pool: pd.DataFrame,
    names: str | list[str],
    options: IndicatorOptions | None = None,
    cache_dir: Path | None = None,
    progress: bool = True,
) -> pd.DataFrame:
    """id + one column per indicator output (input_len, ppl, knn6, ...), cached and resumable."""
    return run_indicators(pool, names, options, cache_dir, progress).table


def _run_one(
    indicator: Indicator, frame: pd.DataFrame, ctx: RunContext, batches: BatchExecutor
) -> tuple[pd.DataFrame, IndicatorStats]:
    definition = indicator.definition(frame, batches.precision(indicator, ctx))
    spec = hash_object(definition, length=24)
    ctx.cache.put_spec(spec, definition)
    stored = indicator.stored()
    values = {column: ctx.cache.get(spec, column) for column in stored}
    missing = np.stack([~frame["id"].isin(values[c].keys()).to_numpy() for c in stored], axis=1)
    todo_mask = missing.any(axis=1)
    stat = IndicatorStats(name="+".join(indicator.requested), cached=int((~todo_mask).sum()))
    if todo_mask.any():
        start = time.perf_counter()
        todo = frame[todo_mask].reset_index(drop=True)
        batches.prepare(indicator, frame, todo, ctx)
        _compute(indicator, todo, missing[todo_mask], values, spec, ctx, stat, batches)
        stat.seconds = time.perf_counter() - start
    raw = pd.DataFrame(
        {c: pd.to_numeric(frame["id"].map(values[c]), errors="coerce") for c in stored}
    )
    return indicator.derive(raw), stat


def _compute(
    indicator: Indicator,
    todo: pd.DataFrame,
    missing: np.ndarray,
    values: dict[str, dict],
    spec: str,
    ctx: RunContext,
    stat: IndicatorStats,
    batches: BatchExecutor,
) -> None:
    """Compute the missing columns batch by batch (the plan says which rows and columns),
    storing each batch as it comes back, in whatever order the executor finishes them."""
    batch_size = ctx.batch_size(indicator.default_batch_size)
    task = ctx.add_task(stat.name, total=len(todo), status=f"{stat.cached} cached")
    share = 1 / missing.sum(axis=1)  # of its row's progress, each missing cell's part
    plan = plan_batches(indicator, todo, missing, batch_size)
    for index, out in batches.compute(indicator, todo, plan, ctx):
        positions, columns = plan[index]
        ids = list(todo["id"].iloc[positions])
        ctx.cache.put(spec, out, ids)
        for column in columns:
            values[column].update(zip(ids, out[column], strict=True))
        stat.batches += 1
        ctx.advance(task, float(share[positions].sum() * len(columns)))
    stat.computed = len(todo)


def subset_means(indicators: pd.DataFrame, subsets: pd.DataFrame) -> pd.DataFrame:
    """subset_id + the mean of each indicator column over the subset's examples."""
    for table, needed in ((subsets, ("subset_id", "id")), (indicators, ("id",))):
        lacking = [c for c in needed if c not in table.columns]
        if lacking:
            raise UserError(f"table lacks column(s) {', '.join(lacking)}")
    subsets = with_text_ids(subsets)
    unknown = ~subsets["id"].isin(indicators["id"])
    if unknown.any():
        named = subsets.loc[unknown, "subset_id"].drop_duplicates().astype(str).tolist()
        shown = ", ".join(named[:5]) + (", ..." if len(named) > 5 else "")
        raise UserError(
            f"{int(unknown.sum())} example(s) of subset(s) {shown} are not in the pool's "
            f"indicator values (first: {subsets.loc[unknown, 'id'].iloc[0]}); the subsets were "
            "drawn from another pool, or the pool was rebuilt since: compute indicators on the "
            "pool they came from"
        )
    columns = [c for c in indicators.columns if c != "id"]
    joined = subsets[["subset_id", "id"]].merge(indicators.drop_duplicates("id"), on="id")
    return joined.groupby("subset_id", sort=False)[columns].mean().reset_index()
