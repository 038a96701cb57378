"""Per-example quality indicators: lengths, MTLD, perplexity, IFD, reward, UniEval, kNN, judge.

Each indicator is a small class in its own module (see `registry`); `compute_indicators` runs
any of them over a pool with batching, a resumable cache and a progress bar.
"""

from instructmining.indicators.options import IndicatorOptions
from instructmining.indicators.registry import (
    INDICATOR_NAMES,
    column_to_indicator,
    indicator_columns,
    indicator_definitions,
    parse_names,
)
from instructmining.indicators.run import (
    IndicatorRun,
    compute_indicators,
    run_indicators,
    subset_means,
)
from instructmining.indicators.stage import indicators_stage

__all__ = [
    "INDICATOR_NAMES",
    "IndicatorOptions",
    "IndicatorRun",
    "column_to_indicator",
    "compute_indicators",
    "indicator_columns",
    "indicator_definitions",
    "indicators_stage",
    "parse_names",
    "run_indicators",
    "subset_means",
]
