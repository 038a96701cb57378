"""The run loop owns caching, statistics and progress; a BatchExecutor only computes batches.

A cluster returns batches in whatever order its workers finish them: the loop must store each
under its own rows and give the same table, statistics and cache as the in-process executor.
"""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd

from instructmining.indicators import IndicatorOptions, run_indicators
from instructmining.indicators.base import Indicator, RunContext
from instructmining.indicators.batches import LocalBatches, Plan


class LastFirst(LocalBatches):
    """Computes every planned batch here but hands them back last first, as a cluster may."""

    def __init__(self) -> None:
        self.handed: list[int] = []

    def compute(
        self, indicator: Indicator, todo: pd.DataFrame, plan: Plan, ctx: RunContext
    ) -> Iterator[tuple[int, dict[str, list]]]:
        for index, values in reversed(list(super().compute(indicator, todo, plan, ctx))):
            self.handed.append(index)
            yield index, values


def test_batches_returned_out_of_order_give_the_local_run(
    sample_pool, tiny_reward_model, tmp_path
) -> None:
    options = IndicatorOptions(reward_model=str(tiny_reward_model), batch_size=4, device="cpu")
    names = ["mtld", "reward"]
    local = run_indicators(sample_pool, names, options, tmp_path / "local", progress=False)
    executor = LastFirst()
    shuffled = run_indicators(
        sample_pool, names, options, tmp_path / "shuffled", progress=False, batches=executor
    )
    assert executor.handed[0] > executor.handed[-1]  # the order really was reversed
    pd.testing.assert_frame_equal(shuffled.table, local.table)
    assert [(s.computed, s.batches) for s in shuffled.stats] == [
        (s.computed, s.batches) for s in local.stats
    ]
    again = run_indicators(sample_pool, names, options, tmp_path / "shuffled", progress=False)
    assert [s.computed for s in again.stats] == [0, 0]  # every batch was stored under its rows
    pd.testing.assert_frame_equal(again.table, local.table)
