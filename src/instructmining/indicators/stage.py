"""The indicators stage, shared by `instructmining indicators` and the YAML `run` pipeline.

Both compute the named indicators over a pool (through the local or the Ray runner) and write
the table with its columns' definitions; keeping those steps in one place means the command
and the pipeline record the same provenance.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd

from instructmining.indicators.options import IndicatorOptions
from instructmining.indicators.output import write_indicators
from instructmining.indicators.run import IndicatorRun, run_indicators, subset_means
from instructmining.storage import read_parquet, write_parquet


def indicators_stage(
    pool: pd.DataFrame,
    names: str | list[str],
    options: IndicatorOptions,
    output: Path,
    cache_dir: Path | None = None,
    runner: Callable[..., IndicatorRun] | None = None,
    subsets: Path | None = None,
) -> tuple[IndicatorRun, pd.DataFrame]:
    """Compute `names` for every pool example with `runner` (default: `run_indicators`, this
    machine) and write `output`: the per-example table with its definitions or, with a
    `subsets` table, each subset's means. Returns the run (its statistics are printed) and the
    table written. The caller holds the lock of the output's folder."""
    run = (runner or run_indicators)(pool, names, options, cache_dir=cache_dir)
    if subsets is None:
        write_indicators(run.table, output, names, options, pool)
        return run, run.table
    means = subset_means(run.table, read_parquet(subsets, required=["subset_id", "id"]))
    write_parquet(means, output)
    return run, means
