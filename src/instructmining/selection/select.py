"""Score a pool with a selector, keep the best n, write the selection.

Indicator values come from a precomputed table where it has them; the indicators stage
computes the rest (it caches, so a second selection costs nothing).
"""

from __future__ import annotations

import json
import math
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from instructmining.data.example import STORED_COLUMNS
from instructmining.errors import UserError, param
from instructmining.rule.model import Rule, load_rule
from instructmining.selection.evidence import Choice, choose_selection
from instructmining.selection.provenance import (
    metadata,
    substitutes,
    unavailable_models,
    wanted_model,
)
from instructmining.selection.selectors import Selector, get_selector
from instructmining.storage import atomic_path
from instructmining.workspace import Workspace, selection_beside

RECORD_COLUMNS = STORED_COLUMNS  # a selection holds the pool's records (messages if kept)


# Which IndicatorOptions field names the model (or tokenizer) an indicator uses.
_MODEL_FIELDS = {
    "reward": "reward_model",
    "unieval": "unieval_model",
    "knn": "embedder",
    "length": "length_tokenizer",
}


def indicator_options(rule: Rule | None = None, **overrides: Any) -> Any:
    """IndicatorOptions for computing a rule's missing indicators: the models the rule was
    fitted with where its definitions name them (a published rule's models, or Hub ids
    recorded by `fit`), replaced by any override that is not None."""
    from instructmining.indicators import IndicatorOptions

    values: dict[str, Any] = {}
    for definition in (rule.definitions if rule else {}).values():
        field = _MODEL_FIELDS.get(str(definition.get("indicator")))
        model = str(wanted_model(definition) or "")
        if field and model and not model.startswith(("file:", "dir:")):
            values[field] = model.removeprefix("hub:").split("@", 1)[0]
        k = definition.get("k") or (definition.get("params") or {}).get("k")
        if definition.get("indicator") == "knn" and k:
            values["k"] = int(k)
    values.update({k: v for k, v in overrides.items() if v is not None})
    return IndicatorOptions(**values)


def rule_and_options(spec: str | Path, **overrides: Any) -> tuple[Rule, Any]:
    """The rule `spec` names (a rule.json or a published rule) with the IndicatorOptions that
    compute its missing indicators by the models it was fitted with (`overrides` not None
    replace them): what `search`, `compare` and the pipeline's select stage all start from."""
    rule = load_rule(spec)
    return rule, indicator_options(rule, **overrides)


def missing_columns(
    pool: pd.DataFrame, columns: list[str], indicators: pd.DataFrame | None
) -> list[str]:
    """The `columns` that `indicators` lacks a value of for some pool example."""
    if indicators is None:
        return list(columns)
    have = indicators.drop_duplicates("id")
    ids = pool[["id"]]
    return [
        c
        for c in columns
        if c not in have.columns or ids.merge(have[["id", c]], on="id", how="left")[c].isna().any()
    ]


def ensure_indicators(
    pool: pd.DataFrame,
    columns: list[str],
    indicators: pd.DataFrame | None = None,
    options: Any = None,
    cache_dir: Path | None = None,
    progress: bool = True,
) -> pd.DataFrame:
    """id + `columns` for every pool example, computing only what `indicators` lacks."""
    out = pool[["id"]].copy()
    have = indicators.drop_duplicates("id") if indicators is not None else None
    missing = missing_columns(pool, columns, indicators)
    for column in columns:
        if column not in missing:
            out[column] = (
                out[["id"]].merge(have[["id", column]], on="id", how="left")[column].to_numpy()
            )
    if not missing:
        return out
    from instructmining.indicators import column_to_indicator, compute_indicators

    names = list(dict.fromkeys(column_to_indicator(c) for c in missing))
    computed = compute_indicators(
        pool, names, options=options, cache_dir=cache_dir, progress=progress
    )
    absent = [c for c in missing if c not in computed.columns]
    if absent:
        raise UserError(
            f"computing {', '.join(names)} gave no column(s) {', '.join(absent)} "
            f"(got {', '.join(c for c in computed.columns if c != 'id')}); check the options "
            f"(for knnK, {param('k')})"
        )
    merged = out[["id"]].merge(computed[["id", *missing]], on="id", how="left")
    for column in missing:
        out[column] = merged[column].to_numpy()
    return out


def score_pool(
    pool: pd.DataFrame,
    selector: str | Selector = "rule",
    rule: Rule | None = None,
    indicators: pd.DataFrame | None = None,
    options: Any = None,
    cache_dir: Path | None = None,
    seed: int = 0,
    knn_k: int = 6,
    progress: bool = True,
) -> pd.DataFrame:
    """id, score and rank (1 = best) for every pool example, best first.

    Ties are broken by id so a ranking is reproducible; examples without a score rank last.
    `ranked.attrs` records the selector and, for a rule, the models substituted for those it
    was fitted on (`indicators.attrs["definitions"]` tells what precomputed values came from).
    """
    return score_with_values(
        pool, selector, rule, indicators, options, cache_dir, seed, knn_k, progress
    )[0]


def score_with_values(
    pool: pd.DataFrame,
    selector: str | Selector = "rule",
    rule: Rule | None = None,
    indicators: pd.DataFrame | None = None,
    options: Any = None,
    cache_dir: Path | None = None,
    seed: int = 0,
    knn_k: int = 6,
    progress: bool = True,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """`score_pool`'s ranking and the indicator values it scored (id and the selector's
    columns, in pool order): selecting inside a rule's evidence needs both."""
    name = selector if isinstance(selector, str) else type(selector).__name__
    if seed < 0:
        raise UserError(f"the seed must be zero or positive (got {seed})")
    if isinstance(selector, str):
        selector = get_selector(selector, rule=rule, knn_k=knn_k)
    attrs = _provenance(pool, name, selector.columns(), rule, indicators, options)
    table = ensure_indicators(
        pool, selector.columns(), indicators, options, cache_dir, progress=progress
    )
    if "source" in pool.columns:  # the mixture selector draws by source
        table["source"] = pool["source"].to_numpy()
    score = np.asarray(selector.score(table, seed=seed), dtype=float)
    ids = pool["id"].astype(str).to_numpy()
    finite = np.isfinite(score)
    # A score of -inf (a higher-is-better value of +inf) must not rank first: every non-finite
    # score ranks last, the missing (NaN) ones after the infinite ones.
    order = np.lexsort((ids, np.isnan(score), np.where(finite, score, 0.0), ~finite))
    ranked = pd.DataFrame({"id": ids[order], "score": score[order]})
    ranked["rank"] = np.arange(1, len(ranked) + 1)
    for column in selector.columns():
        ranked[column] = np.asarray(table[column].to_numpy(dtype=float))[order]
    attrs["indicator_columns"] = selector.columns()
    attrs["non_finite_scores"] = int((~finite).sum())
    ranked.attrs.update(attrs)
    return ranked, table


def _provenance(
    pool: pd.DataFrame,
    selector: str,
    columns: list[str],
    rule: Rule | None,
    indicators: pd.DataFrame | None,
    options: Any,
) -> dict[str, Any]:
    """What the selection will rest on; refuses up front when a needed model is not here."""
    missing = missing_columns(pool, columns, indicators)
    attrs: dict[str, Any] = {"selector": selector, "rule": rule.name if rule else None}
    if missing and options is not None:
        lacking = unavailable_models(missing, options)
        if lacking:
            what = f"rule {rule.name}" if rule and selector == "rule" else f"selector {selector}"
            raise UserError(
                f"{what} needs models that cannot be loaded here: {'; '.join(lacking)}; "
                f"or give precomputed values with {param('indicators_file')}"
            )
    from instructmining.indicators.registry import column_to_indicator, indicator_definitions

    used: dict[str, Any] = {}
    sources: dict[str, str] = {}
    recorded = (indicators.attrs.get("definitions") or {}) if indicators is not None else {}
    if missing:
        names = list(dict.fromkeys(column_to_indicator(c) for c in missing))
        used.update(indicator_definitions(names, options, pool))
    for column in columns:
        if column not in missing:
            used[column] = recorded.get(column)
            sources[column] = str(indicators.attrs.get("path", "precomputed indicators"))
    # Which model (identity with its revision or content hash) produced each ranking column,
    # and what its value is about in a conversation kept whole.
    attrs["indicators"] = {
        column: {
            "model": (used.get(column) or {}).get("model"),
            "version": (used.get(column) or {}).get("version"),
            "values_from": sources.get(column, "computed"),
            "scores": _scope(column),
        }
        for column in columns
    }
    if rule is not None and selector == "rule":
        attrs["substitutes"] = substitutes(rule, used, sources)
    return attrs


def _scope(column: str) -> str | None:
    """What an indicator column scores in a conversation; None for a user's own precomputed
    column, which no indicator of ours produces."""
    from instructmining.indicators.registry import column_to_indicator, indicator_class

    try:
        return indicator_class(column_to_indicator(column)).scope
    except UserError:
        return None


def selection_cache(pool_file: Path, cache_dir: Path | None = None) -> Path:
    """Where `select` caches indicator values: `cache_dir`, a workspace's cache when the pool is
    a workspace's pool.parquet, else the per-user cache; never a folder beside a user's file."""
    if cache_dir is not None:
        return Path(cache_dir)
    from instructmining.workspace import FILES, Workspace

    if pool_file.name == FILES["pool"].name:
        return Workspace(pool_file.parent).cache
    from instructmining.indicators.run import default_cache_dir

    return default_cache_dir()


def default_indicators(folder: Path, given: Path | None = None) -> Path | None:
    """The indicators table `select` scores with: `given`, else the indicators.parquet of the
    workspace the pool lies in (None without one), so a workspace's pool needs no flag."""
    if given is not None:
        return given
    found = Workspace(folder).indicators
    return found if found.exists() else None


def tested_subsets(folder: Path) -> pd.DataFrame | None:
    """The subsets table (subset_id, id) of the workspace at `folder`, whose tested subsets
    the evidence blends draw on; None where there is none."""
    path = Workspace(folder).subsets
    if not path.exists():
        return None
    from instructmining.storage import read_parquet

    return read_parquet(path, required=["subset_id", "id"])[["subset_id", "id"]]


def resolve_size(pool_size: int, top: int | None = None, fraction: float | None = None) -> int:
    """n from `top` N or `fraction` F, checked against the pool."""
    if (top is None) == (fraction is None):
        raise UserError(f"give exactly one of {param('top')} N or {param('fraction')} F")
    if top is not None:
        if top <= 0:
            raise UserError(f"{param('top')} must be a positive number of examples, got {top}")
        if top > pool_size:
            raise UserError(f"{param('top')} {top} exceeds the pool of {pool_size} examples")
        return top
    if not 0 < fraction <= 1:
        raise UserError(f"{param('fraction')} must lie in (0, 1], got {fraction}")
    return max(1, math.floor(fraction * pool_size + 0.5))


def select_top(pool: pd.DataFrame, ranked: pd.DataFrame, n: int) -> pd.DataFrame:
    """The pool's records of the n best-ranked examples, best first (of those a filter left:
    selection/filters.py)."""
    from instructmining.selection.filters import candidates

    ranked = candidates(ranked, n)
    keep = ranked.head(n)[["id"]]
    unscored = int(ranked.head(n)["score"].isna().sum())
    if unscored:
        raise UserError(
            f"only {n - unscored} examples have a score; lower n or compute the missing indicators"
        )
    records = keep.merge(pool.drop_duplicates("id"), on="id", how="left")
    return records[[c for c in RECORD_COLUMNS if c in records.columns]]


def write_selection(
    selected: pd.DataFrame, ranked: pd.DataFrame, out: str | Path, output_format: str = "alpaca"
) -> Path:
    """Write the selection (NAME.jsonl, each record with its score, rank and the indicator
    values that ranked it) and, beside it, NAME.scores.parquet (id, score, rank, the indicator
    columns and selected for every pool example; in its metadata the selector, the model of
    each indicator column and any substituted models). Non-finite values are JSON null; the
    layout and the score's meaning are in docs/selection-output.md.

    Both are written to temporary files first and renamed only when both are complete."""
    from instructmining.data.export import export_records

    out = Path(out)
    table_path = selection_beside(out)
    table = ranked.copy()
    table["selected"] = table["id"].isin(set(selected["id"]))
    arrow = pa.Table.from_pandas(table, preserve_index=False)
    arrow = arrow.replace_schema_metadata({**(arrow.schema.metadata or {}), **metadata(ranked)})
    columns = [c for c in ranked.attrs.get("indicator_columns", []) if c in ranked.columns]
    records = selected.merge(ranked[["id", "score", "rank", *columns]], on="id", how="left")
    with atomic_path(out) as tmp_jsonl, atomic_path(table_path) as tmp_table:
        with open(tmp_jsonl, "w", encoding="utf-8") as fh:
            for record in export_records(records, output_format, columns):
                fh.write(json.dumps(record, ensure_ascii=False, allow_nan=False) + "\n")
        pq.write_table(arrow, tmp_table)
    return table_path


def non_finite_note(ranked: pd.DataFrame, selected: pd.DataFrame) -> str | None:
    """One line for the terminal when some examples have no finite score (IFD >= 1, or an
    indicator value that is missing or infinite): they rank last and their score is null."""
    count = int(ranked.attrs.get("non_finite_scores") or 0)
    if not count:
        return None
    finite = np.isfinite(ranked["score"].to_numpy(dtype=float))
    chosen = int((~finite & ranked["id"].isin(set(selected["id"]))).sum())
    return (
        f"note: {count} of {len(ranked)} examples have no finite score (for ifd a value >= 1; "
        f"otherwise a missing or infinite indicator value): they rank last, {chosen} of them "
        "selected; their score is null in the output"
    )


def rule_choice(
    rule: Rule,
    ranked: pd.DataFrame,
    values: pd.DataFrame,
    n: int,
    tested: pd.DataFrame | None = None,
    extrapolate: bool = False,
) -> Choice:
    """The rule's selection of n among the examples the filters kept (`rank_pool`'s ranking and
    values): one call, so `select --rule` and compare's rule arm choose the same examples."""
    from instructmining.selection.filters import candidates

    live = set(candidates(ranked, n)["id"])  # what --where, --dedup and --diversity kept
    values = values[values["id"].astype(str).isin(live)]
    return choose_selection(rule, values, n, extrapolate=extrapolate, tested=tested)


def select_stage(
    pool: pd.DataFrame,
    ranked: pd.DataFrame,
    n: int,
    output: str | Path,
    output_format: str = "alpaca",
    lock: AbstractContextManager[Any] | None = None,
    rule: Rule | None = None,
    values: pd.DataFrame | None = None,
    tested: pd.DataFrame | None = None,
    extrapolate: bool = False,
) -> tuple[pd.DataFrame, Path, Choice | None]:
    """Keep n examples and write them (with every example's score table), as `instructmining
    select` and the pipeline's select stage both do; returns the selection, the score table's
    path and, for a rule, the choice made.

    With a `rule` and its indicator `values` (`score_with_values`) the n are the best selection
    inside the rule's evidence (`selection.evidence.choose_selection`; `tested` holds the tested
    subsets' examples, `extrapolate` takes the unconstrained top n, labelled so); otherwise the
    n best-ranked. The choice is recorded in the scores table's metadata.

    `lock` (entered only around the writing) is the output folder's lock for a caller that does
    not hold one already: a selection that cannot be made fails before the folder is touched."""
    choice, kept = None, ranked
    if rule is not None and values is not None:
        choice = rule_choice(rule, ranked, values, n, tested, extrapolate)
        ranked.attrs["evidence"] = choice.to_dict()
        kept = ranked[ranked["id"].isin(set(choice.ids))]
    selected = select_top(pool, kept, n)
    with lock if lock is not None else nullcontext():
        table_path = write_selection(selected, ranked, output, output_format)
    return selected, table_path, choice


def source_counts(pool: pd.DataFrame, selected: pd.DataFrame) -> pd.DataFrame:
    """Examples per source in the pool and in the selection, with the selection's share."""
    counts = pd.DataFrame(
        {
            "pool": pool["source"].value_counts(),
            "selected": selected["source"].value_counts(),
        }
    ).fillna(0)
    counts = counts.astype(int).rename_axis("source").reset_index()
    counts["selected_share"] = counts["selected"] / max(1, int(counts["selected"].sum()))
    counts["pool_share"] = counts["pool"] / max(1, int(counts["pool"].sum()))
    return counts.sort_values(["pool", "source"], ascending=[False, True], ignore_index=True)
