"""The one base class of every indicator, and the context a run hands to it.

An indicator names its output columns, the model it needs, a version and its parameters, and
implements `compute` on one batch of examples. Batching, caching, progress and statistics are
the runner's business (`instructmining.indicators.run`), so an indicator module stays small.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import torch

from instructmining.indicators.cache import ValueCache
from instructmining.indicators.options import IndicatorOptions
from instructmining.models.loader import bf16_autocast, cpu_has_bf16, model_identity, select_device

LAST_RESPONSE = "last response"
WHOLE_CONVERSATION = "whole conversation"


def resolve_precision(options: IndicatorOptions) -> str:
    """bf16 when the options allow it and the device runs it natively, else fp32."""
    native = select_device(options.device).type == "cuda" or cpu_has_bf16()
    return "bf16" if options.bf16 and native else "fp32"


@dataclass
class RunContext:
    """What a run shares with its indicators: options, device, cache, progress and notes."""

    options: IndicatorOptions
    cache: ValueCache
    progress: Any = None  # a rich Progress, or None for a silent run
    notes: list[str] = field(default_factory=list)  # lines for the run summary
    _models: dict = field(default_factory=dict)

    @cached_property
    def device(self) -> torch.device:
        return select_device(self.options.device)

    @property
    def precision(self) -> str:
        return resolve_precision(self.options)

    def autocast(self) -> Any:
        if self.precision == "bf16":
            return bf16_autocast(self.device)
        return contextlib.nullcontext()

    def add_task(self, description: str, total: int, status: str = "") -> Any:
        """A progress task (None for silent runs); the bar appears with its first task."""
        if self.progress is None:
            return None
        if not self.progress.live.is_started:
            self.progress.start()
        return self.progress.add_task(description, total=total, status=status)

    def advance(self, task: Any, n: int) -> None:
        if task is not None:
            self.progress.advance(task, n)

    def batch_size(self, default: int) -> int:
        return self.options.batch_size or default

    def model(self, loader: Any, name: str) -> Any:
        """Load a model once per run, so indicators that name the same model share it."""
        key = (loader, name)
        if key not in self._models:
            self._models[key] = loader(name, self.options.device)
        return self._models[key]


class Indicator:
    """One indicator family: the registry names it serves share its model and its batches."""

    names: ClassVar[tuple[str, ...]]  # registry names, e.g. ("ppl", "ifd")
    family: ClassVar[str]  # name in cache keys and provenance
    version: ClassVar[str] = "1"  # bump when the values of the same inputs change
    default_batch_size: ClassVar[int] = 32
    max_batch_tokens: ClassVar[int | None] = None  # padded-token budget per batch
    precision_matters: ClassVar[bool] = True  # bf16 and fp32 give (slightly) different values
    null_reason: ClassVar[str | None] = None  # why a value can be empty, for the run's notes
    # What a value is about for a conversation kept whole (`pool build --all-turns`): the last
    # assistant turn (given the turns before it, where the indicator reads a prompt), or the
    # whole conversation. Shown by `indicators --list` and recorded with a selection.
    scope: ClassVar[str] = LAST_RESPONSE

    def __init__(self, requested: list[str], options: IndicatorOptions) -> None:
        self.requested = [n for n in self.names if n in requested]
        self.options = options

    # -- what the indicator is -------------------------------------------------------------
    def model_name(self) -> str | None:
        """The model the values depend on (None for model-free indicators)."""
        return None

    def outputs(self) -> list[str]:
        """Output columns for the requested names."""
        return list(self.requested)

    def stored(self) -> list[str]:
        """Columns kept in the cache; `derive` turns them into `outputs`."""
        return self.outputs()

    def params(self, frame: pd.DataFrame | None) -> dict[str, Any]:
        """Settings that change the values (they enter the cache key)."""
        return {}

    def definition(self, frame: pd.DataFrame | None, precision: str) -> dict[str, Any]:
        """Provenance of the values: cache key material and what rule.json records."""
        name = self.model_name()
        definition: dict[str, Any] = {
            "indicator": self.family,
            "version": self.version,
            "model": model_identity(name) if name else None,
            "params": self.params(frame),
        }
        if name and self.precision_matters:
            definition["precision"] = precision
        return definition

    # -- how it is computed ----------------------------------------------------------------
    def prepare(self, frame: pd.DataFrame, todo: pd.DataFrame, ctx: RunContext) -> None:
        """Load models and precompute what batches need; called only when values are missing.

        `frame` holds every example of the run, `todo` those with values to compute.
        """

    def tokenize(self, todo: pd.DataFrame, tokenizer: Any) -> None:
        """Keep the token ids of `todo` that `lengths` and `compute` read.

        Only indicators that count tokens override it, calling it from `prepare` with their
        model's tokenizer; a Ray run calls it on the driver with the tokenizer alone, so the
        batch plan needs no model.
        """

    def lengths(self, todo: pd.DataFrame) -> np.ndarray:
        """Cost of each example, for length-sorted batches (characters unless overridden)."""
        text = todo["instruction"].str.len() + todo["input"].str.len() + todo["output"].str.len()
        return text.to_numpy()

    def pass_lengths(self, todo: pd.DataFrame) -> dict[str, np.ndarray] | None:
        """Cost of each example in each stored column, for columns computed by separate passes.

        None (the default): a batch computes all its rows' missing columns at once. Otherwise
        each column is batched by its own costs, so a pass whose lengths sort differently from
        another's (ppl with and without the instruction) is not padded to the other's order.
        """
        return None

    def compute(self, batch: pd.DataFrame, columns: list[str], ctx: RunContext) -> dict[str, list]:
        """Values of `columns` (some of `stored()`) for each row of `batch`; None if unscorable."""
        raise NotImplementedError

    def derive(self, raw: pd.DataFrame) -> pd.DataFrame:
        """Output columns from the stored ones (the same columns unless overridden)."""
        return raw[self.outputs()]


def make_batches(
    lengths: np.ndarray, ids: np.ndarray, batch_size: int, max_tokens: int | None
) -> list[np.ndarray]:
    """Positions grouped into batches of similar length, shortest first.

    Sorting by (length, id) makes the batches a function of the set of examples alone, so a
    resumed run rebuilds the same remaining batches as an uninterrupted one.
    """
    order = np.lexsort((ids, lengths))
    batches: list[np.ndarray] = []
    current: list[int] = []
    for pos in order:
        full = len(current) == batch_size
        over_budget = max_tokens is not None and (len(current) + 1) * lengths[pos] > max_tokens
        if current and (full or over_budget):
            batches.append(np.array(current))
            current = []
        current.append(pos)
    if current:
        batches.append(np.array(current))
    return batches


def plan_batches(
    indicator: Indicator, todo: pd.DataFrame, missing: np.ndarray, batch_size: int
) -> list[tuple[np.ndarray, list[str]]]:
    """(positions in `todo`, columns to compute) of every batch, a local or a Ray run alike.

    `missing[i, j]` says whether row i lacks stored column j. Rows missing the same columns
    batch together, unless the indicator computes its columns in separate passes.
    """
    stored, ids = indicator.stored(), todo["id"].to_numpy()
    per_pass = indicator.pass_lengths(todo)
    if per_pass is None:
        lengths = np.asarray(indicator.lengths(todo))
        groups = [
            ([c for c, needed in zip(stored, pattern, strict=True) if needed], lengths,
             np.flatnonzero((missing == pattern).all(axis=1)))
            for pattern in sorted({tuple(row) for row in missing}, reverse=True)
        ]  # fmt: skip
    else:
        groups = [
            ([c], np.asarray(per_pass[c]), np.flatnonzero(missing[:, j]))
            for j, c in enumerate(stored)
        ]
    return [
        (positions[batch], columns)
        for columns, lengths, positions in groups
        for batch in make_batches(
            lengths[positions], ids[positions], batch_size, indicator.max_batch_tokens
        )
    ]
