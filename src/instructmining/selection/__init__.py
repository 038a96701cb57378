"""Apply a rule or a baseline selector to a pool, search the selection size, compare selections."""

from instructmining.selection.compare import (
    compare_selections,
    difference_interval,
    summarize_comparison,
)
from instructmining.selection.filters import SelectFilters, rank_pool
from instructmining.selection.search import best_trial, search_size
from instructmining.selection.select import (
    ensure_indicators,
    resolve_size,
    score_pool,
    select_stage,
    select_top,
    source_counts,
    write_selection,
)
from instructmining.selection.selectors import SELECTORS, Selector, get_selector

__all__ = [
    "SELECTORS",
    "SelectFilters",
    "Selector",
    "best_trial",
    "compare_selections",
    "difference_interval",
    "ensure_indicators",
    "get_selector",
    "rank_pool",
    "resolve_size",
    "score_pool",
    "search_size",
    "select_stage",
    "select_top",
    "source_counts",
    "summarize_comparison",
    "write_selection",
]
