"""The selection as one table, for Python users: `instructmining.select` and `write_selection`.

`select` does what `instructmining select` does (where -> dedup -> rank -> diversity -> top n,
selection/filters.py) and returns, instead of files, one row per pool example with the
indicator values that ranked or filtered it, its score and rank; `write_selection` writes that
table as the command would. Quiet by default: our progress shows only on a terminal, or when
`progress=True`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from instructmining.errors import UserError, param
from instructmining.rule.model import Rule
from instructmining.selection.filters import SelectFilters, rank_pool
from instructmining.selection.select import (
    RECORD_COLUMNS,
    ensure_indicators,
    indicator_options,
    resolve_size,
    select_top,
)
from instructmining.selection.select import write_selection as write_files
from instructmining.selection.selectors import get_selector
from instructmining.selection.where import STRING_COLUMNS

RANK_COLUMNS = ["score", "rank", "selected", "excluded", "near"]


def select(
    pool: pd.DataFrame,
    top: int | None = None,
    fraction: float | None = None,
    selector: str = "rule",
    rule: Rule | str | Path | None = None,
    where: str | None = None,
    dedup: str | None = None,
    dedup_threshold: float = SelectFilters.dedup_threshold,
    diversity: bool = False,
    diversity_threshold: float = SelectFilters.diversity_threshold,
    indicators: pd.DataFrame | None = None,
    options: Any = None,
    cache_dir: str | Path | None = None,
    seed: int = 0,
    progress: bool | None = None,
) -> pd.DataFrame:
    """Every pool example, best first: id, source, the indicator columns the selector and
    `where` read, score (lower is better), rank (1 = best; none for an example a filter
    dropped), selected, and with filters `excluded` (where, duplicate or diversity) and `near`
    (the kept example it duplicates or lies too close to); then the example's text.

    `top` N or `fraction` F (of the whole pool) marks the best as selected; with neither, every
    example the filters keep is. `rule` is a Rule, a rule.json or a published rule's name;
    missing indicator values are computed (and cached in `cache_dir`, default the per-user
    cache) with `options`, by default the models the rule was fitted with.
    """
    from instructmining.progress import console, quiet_third_party

    quiet_third_party()  # no model library's bars or load reports in a user's notebook or log
    filters = SelectFilters(where, dedup, dedup_threshold, diversity, diversity_threshold)
    if isinstance(rule, str | Path):
        from instructmining.rule.model import load_rule

        rule = load_rule(rule)
    options = options if options is not None else indicator_options(rule)
    progress = console.is_terminal if progress is None else progress
    cache_dir = Path(cache_dir) if cache_dir is not None else None
    pool = pool.assign(id=pool["id"].astype(str)).drop_duplicates("id").reset_index(drop=True)
    n = None if top is None and fraction is None else resolve_size(len(pool), top, fraction)
    ranked, _ = rank_pool(
        pool, selector, n, filters, rule, indicators, options, cache_dir, seed, options.k, progress
    )
    chosen = _selected(pool, ranked, n)
    columns = get_selector(selector, rule, options.k).columns() if isinstance(selector, str) else []
    condition = filters.condition()
    columns += [c for c in (condition.columns if condition else ()) if c not in STRING_COLUMNS]
    values = ensure_indicators(
        pool, list(dict.fromkeys(columns)), indicators, options, cache_dir, progress
    )
    table = ranked.assign(selected=ranked["id"].isin(chosen))
    values = values[["id", *[c for c in values.columns if c not in table.columns]]]
    table = table.merge(values, on="id", how="left").merge(pool, on="id", how="left")
    named = ["source", *columns, *RANK_COLUMNS]
    first = ["id", *[c for c in dict.fromkeys(named) if c in table]]
    table = table[[*first, *[c for c in table.columns if c not in first]]]
    table.attrs.update(ranked.attrs)
    return table


def _selected(pool: pd.DataFrame, ranked: pd.DataFrame, n: int | None) -> set[str]:
    """The ids of the best n, or of every example the filters kept when there is no n."""
    from instructmining.selection.filters import candidates

    if n is None:
        return set(candidates(ranked, 0)["id"])
    return set(select_top(pool, ranked, n)["id"])


def write_selection(table: pd.DataFrame, out: str | Path, output_format: str = "alpaca") -> Path:
    """Write `select`'s table as `instructmining select` does: OUT (the selected examples, best
    first, each with its score and rank) and beside it OUT-STEM.scores.parquet (every example's
    score, rank and, with filters, why it was dropped); returns the scores table's path. Both
    appear only when both are complete."""
    missing = [c for c in ("id", "score", "rank", "selected") if c not in table.columns]
    if missing:
        raise UserError(f"{param('table')} lacks {', '.join(missing)}: pass what select() returns")
    selected = table[table["selected"].astype(bool)]
    records = selected.reindex(columns=RECORD_COLUMNS).fillna({"system": "", "input": ""})
    ranked = table[[c for c in ("id", "score", "rank", "excluded", "near") if c in table.columns]]
    ranked.attrs.update(table.attrs)
    return write_files(records, ranked, out, output_format)
