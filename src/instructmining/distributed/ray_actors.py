"""The Ray Data actors behind Ray indicators, and where they are placed.

An actor builds its indicator (or the kNN embedder) once and keeps the model loaded for every
block it gets. Each block holds whole planned batches, tagged by `_batch`, so a block is
computed exactly as a local run computes those batches.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pandas as pd

from instructmining.distributed.ray_runtime import cluster_gpus, worker_threads_on
from instructmining.indicators.base import RunContext
from instructmining.indicators.cache import ValueCache
from instructmining.indicators.options import IndicatorOptions
from instructmining.indicators.registry import instantiate


@dataclass(frozen=True)
class Placement:
    """How actors are placed: their count, resources, torch threads and numeric precision."""

    actors: int
    gpus: float
    cpus: float
    threads: int
    precision: str


def _worker_precision(options: IndicatorOptions) -> str:
    return RunContext(options=options, cache=ValueCache(None)).precision


def place(ray: Any, options: IndicatorOptions, actors: int | None) -> Placement:
    """One actor per GPU, else one per as many CPUs as the driver's torch threads.

    Actors use the driver's thread count, so their kernels, and values, are a local run's, and
    reserve that many Ray CPUs, so the actors on one node split its CPUs. The precision is the
    workers' own: it enters the cache keys.
    """
    import torch

    threads = worker_threads_on(ray, torch.get_num_threads())
    gpus = cluster_gpus(ray)
    if actors is None:
        cpus = ray.cluster_resources().get("CPU", 1)
        actors = max(1, int(gpus if gpus else cpus // threads))
    per_actor = 1.0 if gpus else 0.0
    probe = ray.remote(_worker_precision).options(num_cpus=1, num_gpus=per_actor)
    precision = ray.get(probe.remote(options))
    return Placement(actors, per_actor, float(threads), threads, precision)


class BatchWorker:
    """A Ray Data actor: one indicator, models loaded once, one planned batch per `_batch` value."""

    def __init__(self, names: list[str], options: IndicatorOptions, placement: Placement) -> None:
        import torch

        torch.set_num_threads(placement.threads)  # the driver's: same kernels as a local run
        self.indicator = instantiate(names, options)[0]
        self.ctx = RunContext(options=options, cache=ValueCache(None))
        if self.ctx.precision != placement.precision:
            raise RuntimeError(
                f"worker computes in {self.ctx.precision}, the cluster's first worker in "
                f"{placement.precision}: run workers of one kind, or set bf16 off"
            )

    def __call__(self, block: pd.DataFrame) -> pd.DataFrame:
        parts = []
        for _, batch in block.groupby("_batch", sort=False):
            columns = batch["_columns"].iloc[0].split(",")
            self.indicator.prepare(batch, batch, self.ctx)
            out = self.indicator.compute(batch, columns, self.ctx)
            part = batch[["id", "_batch", "_columns"]].copy()
            for column in self.indicator.stored():
                values = out.get(column, [None] * len(batch))
                part[column] = pd.Series(values, index=batch.index, dtype="float64")
            parts.append(part)
        return pd.concat(parts)


class EmbedWorker:
    """A Ray Data actor embedding text chunks with the kNN embedder, loaded once."""

    def __init__(self, options: IndicatorOptions, placement: Placement) -> None:
        import torch

        from instructmining.models.loader import load_embedder

        torch.set_num_threads(placement.threads)
        self.ctx = RunContext(options=options, cache=ValueCache(None))
        self.model = self.ctx.model(load_embedder, options.embedder)

    def __call__(self, block: pd.DataFrame) -> pd.DataFrame:
        import torch

        from instructmining.indicators.embed import encode_texts

        parts = []
        for _, chunk in block.groupby("_batch", sort=False):
            with torch.inference_mode():
                vectors = encode_texts(self.model, list(chunk["text"]), self.ctx)
            parts.append(pd.DataFrame({"key": chunk["key"], "vec": list(vectors)}))
        return pd.concat(parts)


def map_blocks(
    ray: Any, blocks: list[pd.DataFrame], worker: type, args: tuple, placement: Placement
) -> Iterator[pd.DataFrame]:
    """Each block through a fixed pool of `worker` actors; result blocks as they finish.

    Ray Data restarts a dead actor and resubmits the block it held (its default for actor
    pools), so every block comes back once.
    """
    dataset = ray.data.from_pandas(blocks).map_batches(
        worker,
        fn_constructor_args=args,
        batch_size=None,  # one call per block: the planned batches stay whole
        batch_format="pandas",
        compute=ray.data.ActorPoolStrategy(size=max(1, min(placement.actors, len(blocks)))),
        num_gpus=placement.gpus,
        num_cpus=placement.cpus,
    )
    yield from dataset.iter_batches(batch_size=None, batch_format="pandas")
