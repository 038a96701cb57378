"""Indicators on a Ray cluster with Ray Data: the same batches, values and cache as a local run.

Under bf16 a value depends on which examples share its batch (padding changes the kernels), so
the driver plans exactly the batches a local run would make and sends each as one Ray Data
block to a pool of actors; an actor builds its indicator once and keeps the model loaded for
every block it gets (one GPU each when the cluster has GPUs). Indicators that order examples by
token counts plan with their tokenizer on the driver, so each actor loads its model once.
The driver alone writes the cache, batch by batch as blocks return, so a retried block (its
actor died and was restarted) is stored once. kNN depends on the whole reference set: actors
embed the texts, the driver searches the neighbours.
"""

from __future__ import annotations

import contextlib
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from instructmining.distributed.ray_actors import (
    BatchWorker,
    EmbedWorker,
    Placement,
    map_blocks,
    place,
)
from instructmining.distributed.ray_runtime import connect
from instructmining.hashing import hash_object
from instructmining.indicators.base import Indicator, RunContext, plan_batches
from instructmining.indicators.cache import ValueCache
from instructmining.indicators.options import IndicatorOptions
from instructmining.indicators.registry import instantiate
from instructmining.indicators.run import (
    IndicatorRun,
    IndicatorStats,
    default_cache_dir,
    normalise_pool,
    run_indicators,
)
from instructmining.progress import progress_bar

WHOLE_POOL = ("knn",)  # families whose values depend on every example, not one batch


def run_indicators_ray(
    pool: pd.DataFrame,
    names: str | list[str],
    options: IndicatorOptions | None = None,
    cache_dir: Path | None = None,
    progress: bool = True,
    address: str | None = None,
    actors: int | None = None,
) -> IndicatorRun:
    """`run_indicators` with the batches computed by Ray Data actors on the cluster at `address`."""
    ray = connect(address)
    ray.data.DataContext.get_current().enable_progress_bars = False  # the driver's bar is ours
    logging.getLogger("ray.data").setLevel(logging.ERROR)
    options = options or IndicatorOptions()
    frame = normalise_pool(pool)
    cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    placement = place(ray, options, actors)
    cache = ValueCache(cache_dir)
    bar = progress_bar("ex") if progress else None
    ctx = RunContext(options=options, cache=cache, progress=bar)
    table, stats, notes = frame[["id"]].copy(), [], []
    try:
        with bar if bar is not None else contextlib.nullcontext():
            for indicator in instantiate(names, options):
                if indicator.family in WHOLE_POOL:
                    start = time.perf_counter()
                    _embed_on_ray(ray, indicator, frame, ctx, placement)
                    embedded = time.perf_counter() - start
                    run = run_indicators(frame, indicator.requested, options, cache_dir, False)
                    values, stat = run.table.drop(columns="id"), run.stats[0]
                    stat.seconds += embedded
                    notes += run.notes
                else:
                    values, stat = _run_one(ray, indicator, frame, ctx, placement)
                table = pd.concat([table, values], axis=1)
                stats.append(stat)
    finally:
        cache.close()
    return IndicatorRun(table=table, stats=stats, notes=notes)


def compute_indicators_ray(
    pool: pd.DataFrame,
    names: str | list[str],
    options: IndicatorOptions | None = None,
    cache_dir: Path | None = None,
    progress: bool = True,
    address: str | None = None,
) -> pd.DataFrame:
    """`compute_indicators` on a Ray cluster: id + one column per indicator output."""
    return run_indicators_ray(pool, names, options, cache_dir, progress, address).table


def _missing(
    indicator: Indicator, frame: pd.DataFrame, ctx: RunContext, precision: str
) -> tuple[str, dict[str, dict], np.ndarray]:
    """The spec, the cached values per stored column, and which (row, column) are missing."""
    definition = indicator.definition(frame, precision)
    spec = hash_object(definition, length=24)
    ctx.cache.put_spec(spec, definition)
    values = {column: ctx.cache.get(spec, column) for column in indicator.stored()}
    missing = np.stack(
        [~frame["id"].isin(values[c].keys()).to_numpy() for c in indicator.stored()], axis=1
    )
    return spec, values, missing


def _run_one(
    ray: Any, indicator: Indicator, frame: pd.DataFrame, ctx: RunContext, placement: Placement
) -> tuple[pd.DataFrame, IndicatorStats]:
    spec, values, missing = _missing(indicator, frame, ctx, placement.precision)
    todo_mask = missing.any(axis=1)
    stat = IndicatorStats(name="+".join(indicator.requested), cached=int((~todo_mask).sum()))
    if todo_mask.any():
        start = time.perf_counter()
        todo = frame[todo_mask].reset_index(drop=True)
        blocks = _plan(indicator, todo, missing[todo_mask], ctx)
        task = None
        if ctx.progress is not None:
            task = ctx.progress.add_task(stat.name, total=len(todo), status=f"{stat.cached} cached")
        args = (indicator.requested, indicator.options, placement)
        for block in map_blocks(ray, blocks, BatchWorker, args, placement):
            for _, batch in block.groupby("_batch", sort=False):
                columns = batch["_columns"].iloc[0].split(",")
                ids = list(batch["id"])
                out = {c: batch[c].astype("float64").tolist() for c in columns}
                ctx.cache.put(spec, out, ids)
                for column in columns:
                    values[column].update(zip(ids, out[column], strict=True))
                stat.computed += len(ids)
                stat.batches += 1
                if task is not None:
                    ctx.progress.advance(task, len(ids))
        stat.seconds = time.perf_counter() - start
    raw = pd.DataFrame(
        {c: pd.to_numeric(frame["id"].map(values[c]), errors="coerce") for c in indicator.stored()}
    )
    return indicator.derive(raw), stat


def _plan(
    indicator: Indicator, todo: pd.DataFrame, missing: np.ndarray, ctx: RunContext
) -> list[pd.DataFrame]:
    """The local run's batches, one DataFrame each, tagged with `_batch` and `_columns`."""
    _tokenize(indicator, todo)
    batch_size = ctx.batch_size(indicator.default_batch_size)
    blocks: list[pd.DataFrame] = []
    for positions, columns in plan_batches(indicator, todo, missing, batch_size):
        rows = todo.iloc[positions].reset_index(drop=True)
        rows["_batch"], rows["_columns"] = len(blocks), ",".join(columns)
        blocks.append(rows)
    return blocks


def _tokenize(indicator: Indicator, todo: pd.DataFrame) -> None:
    """Count tokens as the local run does, with the tokenizer alone (no model on the driver)."""
    if type(indicator).tokenize is not Indicator.tokenize:
        from instructmining.models.loader import load_tokenizer

        indicator.tokenize(todo, load_tokenizer(indicator.model_name()))


def _embed_on_ray(
    ray: Any, indicator: Indicator, frame: pd.DataFrame, ctx: RunContext, placement: Placement
) -> None:
    """Put the vectors a local kNN run would embed into the cache, embedded by actors.

    The chunks are the local run's (missing texts sorted by length, then key), so the vectors,
    and the distances searched from them on the driver, are the same.
    """
    from instructmining.indicators.embed import CHUNK, text_key
    from instructmining.indicators.knn import load_reference, texts_of
    from instructmining.models.loader import model_identity

    if ctx.precision != placement.precision:  # the local run would not find these vectors
        return
    _, _, missing = _missing(indicator, frame, ctx, placement.precision)
    todo = frame[missing.any(axis=1)]
    if todo.empty:
        return
    path = indicator.options.knn_reference
    texts = texts_of(load_reference(path) if path else frame) + texts_of(todo)
    model_key = f"{model_identity(indicator.options.embedder)}|{placement.precision}"
    first = dict(zip((text_key(t) for t in texts), texts, strict=True))
    cached = ctx.cache.get_vectors(model_key, first)
    keys = sorted((k for k in first if k not in cached), key=lambda k: (len(first[k]), k))
    if not keys:
        return
    blocks = [
        pd.DataFrame({"key": chunk, "text": [first[k] for k in chunk], "_batch": start // CHUNK})
        for start in range(0, len(keys), CHUNK)
        for chunk in [keys[start : start + CHUNK]]
    ]
    task = ctx.progress.add_task("embed", total=len(keys), status="") if ctx.progress else None
    for block in map_blocks(ray, blocks, EmbedWorker, (indicator.options, placement), placement):
        ctx.cache.put_vectors(model_key, list(block["key"]), np.stack(block["vec"].to_list()))
        if task is not None:
            ctx.progress.advance(task, len(block))
