"""Run records: one small JSON file per finished run, merged into the runs table.

Each run's record is written atomically when the run ends, under a folder named by the config
and evaluation hashes, so a rerun skips what is done, a killed run leaves nothing behind, and
runs made with other settings stay on disk (switching back reuses them) without mixing into
the table of the current experiment.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pandas as pd

from instructmining.hashing import hash_object
from instructmining.storage import write_json

MAIN_EVAL = "fit"  # the evaluation set a rule is fitted on, in the per-item table
ITEMS = "item_losses"  # a record's per-item losses: {eval set: {id, loss, tokens}}
ITEM_COLUMNS = ["subset_id", "seed", "config_hash", "eval_set", "item_id", "loss_sum", "tokens"]

RUN_COLUMNS = [
    "subset_id",
    "seed",
    "eval_loss",
    "train_loss",
    "examples",
    "tokens",
    "seconds",
    "config_hash",
    "eval_hash",
    "subset_hash",
    "versions",
    "status",
    "error",
]

_SAFE_NAME = re.compile(r"[A-Za-z0-9_.-]{1,80}")


def versions() -> str:
    """Library versions that can change a run's numbers."""
    import peft
    import torch
    import transformers

    return (
        f"torch={torch.__version__} transformers={transformers.__version__} peft={peft.__version__}"
    )


def subset_hash(ids: list[str]) -> str:
    """Identity of a subset's contents, so a resampled subset with an old name is rerun."""
    return hash_object(sorted(ids))


def record_dir(runs_path: Path, config_hash: str, eval_hash: str) -> Path:
    """`WS/runs/<config>-<eval>/` beside `WS/runs.parquet`."""
    return runs_path.with_suffix("") / f"{config_hash}-{eval_hash}"


def record_path(folder: Path, subset_id: str, seed: int) -> Path:
    name = subset_id if _SAFE_NAME.fullmatch(subset_id) else f"h{hash_object(subset_id)}"
    return folder / f"{name}.seed{seed}.json"


def read_record(path: Path) -> dict[str, Any] | None:
    """A record, or None when there is none (or it is unreadable: the run is then redone)."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def write_record(path: Path, record: dict[str, Any]) -> None:
    write_json(record, path)


def is_finished(record: dict[str, Any] | None, expected_subset_hash: str) -> bool:
    """Finished runs are skipped; failed ones and runs of a changed subset are redone."""
    return (
        record is not None
        and record.get("status") == "ok"
        and record.get("subset_hash") == expected_subset_hash
    )


def items_path(runs_path: Path) -> Path:
    """`WS/runs_items.parquet` beside `WS/runs.parquet`: each run's loss on each item."""
    return runs_path.with_name(f"{runs_path.stem}_items.parquet")


def _current(folder: Path, subset_hashes: dict[str, str], others: bool) -> list[dict[str, Any]]:
    """Records of the subsets in `subset_hashes` with those contents; with `others`, also every
    record of a subset not among them (earlier calls' selections, recorded as they were)."""
    rows = []
    for path in sorted(folder.glob("*.json")) if folder.exists() else []:
        record = read_record(path)
        if not record:
            continue
        expected = subset_hashes.get(record.get("subset_id"))
        if expected == record.get("subset_hash") or (others and expected is None):
            rows.append(record)
    return rows


def collect_items(
    folder: Path, subset_hashes: dict[str, str], others: bool = False
) -> pd.DataFrame:
    """Per-item losses of the current finished runs: one row per (run, evaluation set, item),
    so intervals can resample evaluation items as well as seeds. `others` as in `collect`."""
    frames = [
        pd.DataFrame(
            {
                "subset_id": record["subset_id"],
                "seed": int(record["seed"]),
                "config_hash": record.get("config_hash"),
                "eval_set": name,
                "item_id": items["id"],
                "loss_sum": items["loss"],
                "tokens": items["tokens"],
            }
        )
        for record in _current(folder, subset_hashes, others)
        for name, items in (record.get(ITEMS) or {}).items()
    ]
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in ITEM_COLUMNS})
    table = pd.concat(frames, ignore_index=True)[ITEM_COLUMNS]
    return table.astype({"loss_sum": "float64", "tokens": "int64", "seed": "int64"})


def collect(folder: Path, subset_hashes: dict[str, str], others: bool = False) -> pd.DataFrame:
    """The runs table: every record in `folder` of a current subset (all seeds), baseline first.

    `others` keeps every other subset's records too, after the current ones: search and compare
    train a few selections per call into one table, which must hold every call's runs."""
    records = _current(folder, subset_hashes, others)
    table = pd.DataFrame([{k: v for k, v in r.items() if k != ITEMS} for r in records])
    for column in RUN_COLUMNS:
        if column not in table.columns:
            table[column] = pd.Series(dtype="object")
    extra = sorted(c for c in table.columns if c not in RUN_COLUMNS)
    order = {name: i for i, name in enumerate(subset_hashes)}
    if len(table):
        table["_order"] = table["subset_id"].map(lambda sid: order.get(sid, len(order)))
        table = table.sort_values(["_order", "seed"], kind="stable").drop(columns="_order")
    return _typed(table[RUN_COLUMNS + extra].reset_index(drop=True))


def _typed(table: pd.DataFrame) -> pd.DataFrame:
    """Stable column types whatever the records hold (losses of failed runs are NaN)."""
    for column in table.columns:
        if column in ("seed", "examples", "tokens"):
            table[column] = table[column].astype("int64")
        elif column in ("eval_loss", "train_loss", "seconds") or column.startswith("test_loss__"):
            table[column] = table[column].astype("float64")
        else:
            table[column] = table[column].astype("string")
    return table
