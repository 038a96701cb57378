"""Where an indicator's planned batches are computed: the one interface local and Ray runs share.

The run loop (`indicators.run`) owns the cache lookup, the batch plan, storing each batch,
progress and statistics; a `BatchExecutor` only prepares an indicator and computes the batches
it is handed, yielding each batch's values as it finishes. `LocalBatches` computes them in this
process; `distributed.ray_indicators.RayBatches` submits them to Ray Data actors.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Protocol

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from instructmining.indicators.base import Indicator, RunContext

Plan = list[tuple[np.ndarray, list[str]]]  # (positions in todo, columns) per batch


class BatchExecutor(Protocol):
    """Prepares an indicator and computes its planned batches, in any order."""

    def precision(self, indicator: Indicator, ctx: RunContext) -> str:
        """The precision the values will be computed in: it enters the cache key."""
        ...

    def prepare(
        self, indicator: Indicator, frame: pd.DataFrame, todo: pd.DataFrame, ctx: RunContext
    ) -> None:
        """Whatever planning and computing need (models, token counts), once per indicator."""
        ...

    def compute(
        self, indicator: Indicator, todo: pd.DataFrame, plan: Plan, ctx: RunContext
    ) -> Iterator[tuple[int, dict[str, list]]]:
        """(index into `plan`, values of its columns in its rows' order) for every batch."""
        ...


class LocalBatches:
    """Every batch in this process, in plan order, with each model loaded once per run."""

    def precision(self, indicator: Indicator, ctx: RunContext) -> str:
        return ctx.precision

    def prepare(
        self, indicator: Indicator, frame: pd.DataFrame, todo: pd.DataFrame, ctx: RunContext
    ) -> None:
        indicator.prepare(frame, todo, ctx)

    def compute(
        self, indicator: Indicator, todo: pd.DataFrame, plan: Plan, ctx: RunContext
    ) -> Iterator[tuple[int, dict[str, list]]]:
        for index, (positions, columns) in enumerate(plan):
            yield index, indicator.compute(todo.iloc[positions], columns, ctx)
