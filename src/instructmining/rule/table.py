"""The table a rule is fitted on: one row per trained subset, its mean indicators, its log loss.

Seeds are averaged per subset before the fit (the rule explains differences between subsets,
not training noise); the seed spread is kept so the fit output can set it against the spread
between subsets.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from instructmining.errors import UserError
from instructmining.hashing import hash_file, hash_object
from instructmining.outcomes import BASELINE, with_text_ids
from instructmining.rule.agreement import eval_agreement
from instructmining.rule.sources import source_shares
from instructmining.rule.targets import (
    AUTO,
    FIT_TARGET,
    TEST_PREFIX,
    Target,
    resolve_target,
    set_losses,
    target_values,
)
from instructmining.storage import read_parquet
from instructmining.workspace import Workspace

# The column the rule is fitted to: the chosen target's value per subset (the log eval loss of
# the fit set unless another target is asked for).
TARGET = "log_eval_loss"
# Numeric columns of a subset-means table that describe the subset rather than its examples.
_NOT_INDICATORS = {"subset_id", "examples", "n_examples", "n", "count", "size"}


@dataclass
class FitTable:
    """Subsets with runs: `table` has subset_id, log_eval_loss (the target's value), eval_loss,
    n_seeds, seed_sd and the indicator `columns`.

    `losses` holds every recorded evaluation set's mean loss per subset (columns `fit`, NAME),
    `agreement` their pairwise agreement, `shares` each subset's source shares and `examples`
    the per-example indicators with their source (both None without a pool table)."""

    table: pd.DataFrame
    columns: list[str]
    definitions: dict[str, dict[str, Any]]
    provenance: dict[str, Any]
    target: Target = FIT_TARGET
    losses: pd.DataFrame = field(default_factory=pd.DataFrame)
    agreement: list[dict[str, Any]] = field(default_factory=list)
    shares: pd.DataFrame | None = None
    examples: pd.DataFrame | None = None
    subset_size: int | None = None
    proportions: pd.DataFrame | None = None  # subset_id + each source's share (mixture rule)


_RUN_KEY = ["subset_id", "seed", "eval_loss"]
# A runs table needs only these; runs from another trainer may leave out the rest
# (docs/data-formats.md).
RUNS_REQUIRED = ("subset_id", "eval_loss")


def _runs_hash(runs: pd.DataFrame) -> str:
    present = [c for c in _RUN_KEY if c in runs.columns]
    key = present + sorted(c for c in runs.columns if c.startswith(TEST_PREFIX))
    return hash_object(runs.sort_values(present)[key].to_dict("records"))


def check_runs(runs: pd.DataFrame, path: Path) -> pd.DataFrame:
    """The finished runs of a runs table, checked: losses finite and positive, ids text.

    `status` (default ok), `seed`, `subset_hash` and the hashes are optional, so runs made
    with another trainer can be fitted on."""
    if "status" in runs.columns:
        runs = runs[runs["status"] == "ok"]
    if not pd.api.types.is_numeric_dtype(runs["eval_loss"]):
        raise UserError(f"{path}: column 'eval_loss' should hold numbers")
    runs = with_text_ids(runs)
    losses = runs["eval_loss"].to_numpy(dtype=float)
    bad = ~(np.isfinite(losses) & (losses > 0))
    if bad.any():
        row = runs[bad].iloc[0]
        raise UserError(
            f"{path}: eval_loss must be a finite, positive number to take its log "
            f"(subset {row['subset_id']}: {row['eval_loss']})"
        )
    return runs


def check_subset_hashes(runs: pd.DataFrame, subsets: pd.DataFrame, path: Path) -> None:
    """Refuse runs trained on a subset that subsets.parquet no longer holds (resampled since):
    fitting them would pair each loss with another subset's indicators."""
    if "subset_hash" not in runs.columns:
        return
    from instructmining.experiments.records import subset_hash

    current = {
        name: subset_hash(group.astype(str).tolist())
        for name, group in subsets.groupby("subset_id", sort=False)["id"]
    }
    for row in runs[["subset_id", "subset_hash"]].dropna().itertuples(index=False):
        if row.subset_id == BASELINE:
            continue
        if current.get(row.subset_id, row.subset_hash) != row.subset_hash:
            raise UserError(
                f"{path}: run of subset {row.subset_id} was trained on other examples than "
                "subsets.parquet now holds (resampled since?); rerun the experiments or restore "
                "the subsets table"
            )


def load_fit_table(
    workspace: Workspace | str | Path,
    config_hash: str | None = None,
    eval_hash: str | None = None,
    target: str = "fit",
    weights: dict[str, float] | None = None,
) -> FitTable:
    """Join a workspace's finished runs with its subsets' mean indicators.

    `target` is `fit`, a recorded set's NAME, `mean` or `auto` (see `rule.targets`); `weights`
    weigh the sets of a `mean` target."""
    ws = Workspace.of(workspace)
    runs = read_parquet(ws.runs, required=RUNS_REQUIRED)
    if ws.subsets.exists():
        subsets = with_text_ids(read_parquet(ws.subsets, required=["subset_id", "id"]))
        check_subset_hashes(check_runs(runs, ws.runs), subsets, ws.runs)
    means, inputs = _subset_means(ws)
    data = fit_table(
        runs,
        means,
        config_hash=config_hash,
        eval_hash=eval_hash,
        where=ws.runs,
        target=target,
        weights=weights,
    )
    data.provenance["inputs"].update(inputs)
    data.definitions.update(_definitions(ws.indicators, data.columns))
    data.shares, data.examples, data.subset_size = _sources(ws)
    data.proportions = _proportions(ws)
    return data


def fit_table(
    runs: pd.DataFrame,
    means: pd.DataFrame,
    config_hash: str | None = None,
    eval_hash: str | None = None,
    where: str | Path = "runs",
    target: str = "fit",
    weights: dict[str, float] | None = None,
) -> FitTable:
    """The fit table from DataFrames: finished `runs` (subset_id, eval_loss, status) joined with
    per-subset indicator `means` (subset_id + columns); `where` names the runs in errors."""
    ok = check_runs(runs, Path(where))
    base = ok[ok["subset_id"] == BASELINE]
    ok = ok[ok["subset_id"] != BASELINE]
    ok = _one_setting(ok, Path(where), config_hash=config_hash, eval_hash=eval_hash)
    if (ok["eval_loss"] <= 0).any() or ok["eval_loss"].isna().any():
        raise UserError(f"{where}: eval_loss must be positive to take its log")
    losses = set_losses(ok)
    if (losses <= 0).any().any():
        raise UserError(f"{where}: test losses must be positive to take their log")
    agreement = eval_agreement(losses)
    chosen = resolve_target(target, losses, weights, agreement if target == AUTO else None)
    per_subset = ok.groupby("subset_id", sort=True)["eval_loss"].agg(
        eval_loss="mean", n_seeds="count", seed_sd="std"
    )
    per_subset[TARGET] = target_values(losses, chosen)
    per_subset = per_subset.dropna(subset=[TARGET])
    means = with_text_ids(means)
    missing = sorted(set(per_subset.index) - set(means["subset_id"]))
    if missing:
        shown = ", ".join(missing[:5]) + (", ..." if len(missing) > 5 else "")
        raise UserError(
            f"{where}: {len(missing)} of {len(per_subset)} subset(s) with runs have no members "
            f"in the subsets table, so no indicator means ({shown}); the runs name subset ids "
            f"that subsets.parquet does not hold (ids compare as text: 3 and '3' are the same)"
        )
    table = per_subset.reset_index().merge(means, on="subset_id", how="left")
    columns, skipped = [], []
    for c in means.columns:
        if c in _NOT_INDICATORS or not pd.api.types.is_numeric_dtype(means[c]):
            continue
        values = table[c]
        if values.isna().any() or values.nunique() < 2:
            skipped.append(c)
        else:
            columns.append(c)
    provenance = {
        "n_runs": int(len(ok)),
        "n_subsets": int(len(table)),
        "eval_hash": _single(ok, "eval_hash"),
        "config_hash": _single(ok, "config_hash"),
        "base_eval_loss": float(base["eval_loss"].mean()) if len(base) else None,
        # The runs the fit used, not the file: timings differ between identical reruns.
        "inputs": {"runs": _runs_hash(ok)},
        "skipped_columns": skipped,
    }
    return FitTable(
        table,
        columns,
        {c: {"column": c} for c in columns},
        provenance,
        target=chosen,
        losses=losses,
        agreement=agreement,
    )


def _sources(ws: Workspace) -> tuple[pd.DataFrame | None, pd.DataFrame | None, int | None]:
    """Source shares per subset, per-example indicators with their source and the mean subset
    size, for the per-source view; all None when the workspace has no pool table."""
    if not ws.pool.exists() or not ws.subsets.exists():
        return None, None, None
    pool = read_parquet(ws.pool, required=["id", "source"])[["id", "source"]]
    subsets = with_text_ids(read_parquet(ws.subsets, required=["subset_id", "id"]))
    shares = source_shares(subsets, pool)
    size = int(round(subsets.groupby("subset_id")["id"].count().mean()))
    examples = None
    if ws.indicators.exists():
        indicators = read_parquet(ws.indicators, required=["id"]).astype({"id": str})
        examples = indicators.merge(pool.astype({"id": str}), on="id", how="inner")
    return shares, examples, size


def _proportions(ws: Workspace) -> pd.DataFrame | None:
    """Source shares per subset, where the workspace has subsets and a pool with sources."""
    if not (ws.subsets.exists() and ws.pool.exists()):
        return None
    pool = read_parquet(ws.pool)
    if "source" not in pool.columns:
        return None
    subsets = with_text_ids(read_parquet(ws.subsets, required=["subset_id", "id"]))
    return source_shares(subsets, pool).rename_axis(None, axis=1).reset_index()


def _one_setting(
    ok: pd.DataFrame, path: Path, config_hash: str | None, eval_hash: str | None
) -> pd.DataFrame:
    """Keep runs of one training config and one evaluation set: a rule mixing them explains
    the setting, not the data."""
    for column, wanted in (("config_hash", config_hash), ("eval_hash", eval_hash)):
        if column not in ok.columns:
            continue
        if wanted is not None:
            ok = ok[ok[column] == wanted]
        values = ok[column].dropna().unique()
        if len(values) > 1:
            shown = ", ".join(sorted(map(str, values)))
            option = column.replace("_", "-")
            raise UserError(
                f"{path}: runs span several {column}s ({shown}); pick one with --{option}"
            )
    if ok.empty:
        raise UserError(f"{path}: no finished runs (status ok) to fit a rule on")
    return ok


def _single(df: pd.DataFrame, column: str) -> str | None:
    if column not in df.columns or df[column].dropna().empty:
        return None
    return str(df[column].dropna().iloc[0])


def _subset_means(ws: Workspace) -> tuple[pd.DataFrame, dict[str, str]]:
    """Per-subset indicator means: the stored table if the workspace has one, else computed."""
    stored = ws.subset_indicators
    if stored.exists():
        means = with_text_ids(read_parquet(stored, required=["subset_id"]))
        return means, {"subset_indicators": hash_file(stored)}
    indicators = read_parquet(ws.indicators, required=["id"])
    subsets = with_text_ids(read_parquet(ws.subsets, required=["subset_id", "id"]))
    inputs = {"indicators": hash_file(ws.indicators), "subsets": hash_file(ws.subsets)}
    from instructmining.indicators import subset_means

    return subset_means(indicators, subsets), inputs


def _definitions(indicators_path: Path, columns: list[str]) -> dict[str, dict[str, Any]]:
    """Indicator provenance (models, versions, parameters) stored in the indicators table's
    metadata by the indicators stage; only the column name when it is absent."""
    found: dict[str, Any] = {}
    if indicators_path.exists():
        try:
            metadata = pq.read_schema(indicators_path).metadata or {}
        except OSError:
            metadata = {}
        for key in (b"indicator_definitions", b"instructmining"):
            if key in metadata:
                try:
                    decoded = json.loads(metadata[key])
                except ValueError:
                    continue
                found = decoded.get("definitions", decoded) if isinstance(decoded, dict) else {}
                break
    return {c: {"column": c, **(found.get(c) or {})} for c in columns}
