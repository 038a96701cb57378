"""Indicators on a Ray cluster with Ray Data: the same batches, values and cache as a local run.

`RayBatches` is the `BatchExecutor` (indicators/batches.py) that `run_indicators` hands its
planned batches to; the run loop, the cache and the progress are the local run's. Under bf16
a value depends on which examples share its batch (padding changes the kernels), so each
planned batch goes as one Ray Data block to a pool of actors; an actor builds its indicator
once and keeps the model loaded for every block it gets (one GPU each when the cluster has
GPUs). Indicators that order examples by token counts plan with their tokenizer on the driver,
so each actor loads its model once. The driver alone writes the cache, batch by batch as blocks
return, so a retried block (its actor died and was restarted) is stored once. kNN depends on
the whole reference set: actors embed the texts, the driver searches the neighbours.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
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
from instructmining.indicators.base import Indicator, RunContext
from instructmining.indicators.batches import LocalBatches, Plan
from instructmining.indicators.options import IndicatorOptions
from instructmining.indicators.run import IndicatorRun, run_indicators

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
    placement = place(ray, options or IndicatorOptions(), actors)
    return run_indicators(pool, names, options, cache_dir, progress, RayBatches(ray, placement))


class RayBatches:
    """Planned batches computed by a pool of Ray Data actors, each block one batch.

    kNN is the exception: actors embed the texts (`prepare`), the neighbour search runs here
    over the whole reference set, as locally.
    """

    def __init__(self, ray: Any, placement: Placement) -> None:
        self.ray = ray
        self.placement = placement

    def precision(self, indicator: Indicator, ctx: RunContext) -> str:
        """The actors' precision; kNN's search runs on the driver, in the driver's."""
        return ctx.precision if indicator.family in WHOLE_POOL else self.placement.precision

    def prepare(
        self, indicator: Indicator, frame: pd.DataFrame, todo: pd.DataFrame, ctx: RunContext
    ) -> None:
        if indicator.family in WHOLE_POOL:
            _embed_on_ray(self.ray, indicator, frame, todo, ctx, self.placement)
            indicator.prepare(frame, todo, ctx)  # finds the vectors the actors cached
        else:
            _tokenize(indicator, todo)

    def compute(
        self, indicator: Indicator, todo: pd.DataFrame, plan: Plan, ctx: RunContext
    ) -> Iterator[tuple[int, dict[str, list]]]:
        if indicator.family in WHOLE_POOL:
            yield from LocalBatches().compute(indicator, todo, plan, ctx)
            return
        blocks = []
        for index, (positions, columns) in enumerate(plan):
            rows = todo.iloc[positions].reset_index(drop=True)
            rows["_batch"], rows["_columns"] = index, ",".join(columns)
            blocks.append(rows)
        args = (indicator.requested, indicator.options, self.placement)
        for block in map_blocks(self.ray, blocks, BatchWorker, args, self.placement):
            for index, batch in block.groupby("_batch", sort=False):
                positions, columns = plan[int(index)]
                rows = batch.set_index("id").loc[todo["id"].iloc[positions]]
                yield int(index), {c: rows[c].astype("float64").tolist() for c in columns}


def _tokenize(indicator: Indicator, todo: pd.DataFrame) -> None:
    """Count tokens as the local run does, with the tokenizer alone (no model on the driver)."""
    if type(indicator).tokenize is not Indicator.tokenize:
        from instructmining.models.loader import load_tokenizer

        indicator.tokenize(todo, load_tokenizer(indicator.model_name()))


def _embed_on_ray(
    ray: Any,
    indicator: Indicator,
    frame: pd.DataFrame,
    todo: pd.DataFrame,
    ctx: RunContext,
    placement: Placement,
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
    task = ctx.add_task("embed", total=len(keys))
    for block in map_blocks(ray, blocks, EmbedWorker, (indicator.options, placement), placement):
        ctx.cache.put_vectors(model_key, list(block["key"]), np.stack(block["vec"].to_list()))
        ctx.advance(task, len(block))
