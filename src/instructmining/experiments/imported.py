"""Runs made elsewhere: a table of subset losses from another trainer, checked and stored as the
workspace's runs.parquet, so `fit` can fit a rule on fine-tunes run at scale on a cluster.

Only `subset_id` and `eval_loss` are needed; `seed`, `status`, `train_loss` and the hashes are
kept when given. Each run is stamped with its subset's content hash, so a later `sample` that
rewrites subsets.parquet makes `fit` refuse rather than pair losses with the wrong examples.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow as pa

from instructmining.errors import UserError
from instructmining.experiments.records import subset_hash
from instructmining.outcomes import BASELINE, with_text_ids
from instructmining.paths import refuse_overwrite, require_file
from instructmining.rule.table import RUNS_REQUIRED, check_runs
from instructmining.storage import read_parquet, write_parquet
from instructmining.workspace import Workspace

FORMATS = (".csv", ".json", ".jsonl", ".parquet")


def read_runs_file(path: str | Path) -> pd.DataFrame:
    """A runs table from CSV, JSON (records), JSON Lines or Parquet."""
    path = require_file(path)
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return read_parquet(path, required=RUNS_REQUIRED)
    if suffix not in FORMATS:
        raise UserError(
            f"{path}: runs must be CSV, JSON, JSON Lines or Parquet ({', '.join(FORMATS)})"
        )
    try:
        if suffix == ".csv":
            table = pd.read_csv(path, dtype={"subset_id": str})
        else:
            table = pd.read_json(path, lines=suffix == ".jsonl", dtype={"subset_id": str})
    except (ValueError, UnicodeDecodeError, json.JSONDecodeError, pd.errors.ParserError) as exc:
        raise UserError(f"{path}: not a readable runs table ({str(exc).splitlines()[0]})") from exc
    missing = [c for c in RUNS_REQUIRED if c not in table.columns]
    if missing:
        raise UserError(f"{path}: missing column(s) {', '.join(missing)}")
    return table


def import_runs(path: str | Path, workspace: str | Path) -> pd.DataFrame:
    """Check `path` against the workspace's subsets and write it as WS/runs.parquet."""
    ws = Workspace(Path(workspace))
    refuse_overwrite([ws.runs], [path])
    runs = check_runs(read_runs_file(path), Path(path))
    if runs.empty:
        raise UserError(f"{path}: no finished runs")
    subsets = with_text_ids(read_parquet(ws.subsets, required=["subset_id", "id"]))
    hashes = {
        name: subset_hash(ids.astype(str).tolist())
        for name, ids in subsets.groupby("subset_id", sort=False)["id"]
    }
    unknown = sorted(set(runs["subset_id"]) - set(hashes) - {BASELINE})
    if unknown:
        shown = ", ".join(unknown[:5])
        raise UserError(
            f"{path}: {len(unknown)} subset id(s) not in {ws.subsets} ({shown}); runs must name "
            "the subsets they were trained on"
        )
    current = runs["subset_id"].map(hashes)
    if "subset_hash" in runs.columns:
        stale = runs["subset_hash"].notna() & (runs["subset_hash"] != current) & current.notna()
        if stale.any():
            raise UserError(
                f"{path}: run of subset {runs.loc[stale, 'subset_id'].iloc[0]} was trained on "
                f"other examples than {ws.subsets} holds"
            )
    runs = runs.assign(subset_hash=current.where(current.notna(), None), status="ok")
    with ws.lock():
        try:
            write_parquet(runs.reset_index(drop=True), ws.runs)
        except (pa.ArrowException, TypeError) as exc:
            raise UserError(f"{path}: a column cannot be stored as a table ({exc})") from exc
    return runs
