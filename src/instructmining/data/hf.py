"""Hugging Face datasets as pool input: a `save_to_disk` folder, a folder of parquet/json
shards, or a Hub id `hf://datasets/OWNER/NAME[@REVISION][:SPLIT]`.

Saved datasets and Hub ids go through the `datasets` library, so its cache, `HF_DATASETS_OFFLINE`
and authentication apply; shard folders are read file by file by our own readers, so a bad
record is named by its shard and line. Each row becomes a record that format detection reads
like a JSON object.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from instructmining.errors import UserError
from instructmining.progress import quiet_third_party

SHARD_SUFFIXES = (".parquet", ".json", ".jsonl", ".json.gz", ".jsonl.gz")
_HUB = re.compile(
    r"^hf:/{1,2}datasets/(?P<repo>[^@:/]+/[^@:/]+)(?:@(?P<rev>[^:]+))?(?::(?P<split>.+))?$"
)


def require_datasets() -> Any:
    """The `datasets` module (its bars off, as in every command), or a one-line error with the
    install command."""
    try:
        import datasets
    except ImportError as exc:
        raise UserError("reading Hugging Face datasets needs `pip install datasets`") from exc
    quiet_third_party()
    return datasets


def hub_spec(path: str | Path) -> tuple[str, str | None, str] | None:
    """(repo, revision, split) of an `hf://datasets/...` name (a Path keeps one slash)."""
    found = _HUB.match(str(path))
    if found is None:
        return None
    return found["repo"], found["rev"], found["split"] or "train"


def is_saved_dataset(folder: Path) -> bool:
    """A folder written by `Dataset.save_to_disk` or `DatasetDict.save_to_disk`."""
    return (folder / "state.json").is_file() or (folder / "dataset_dict.json").is_file()


def shard_files(folder: Path) -> list[Path]:
    """The parquet/json shards of a dataset folder (any depth), in name order."""
    shards = sorted(
        p for p in folder.rglob("*") if p.is_file() and p.name.lower().endswith(SHARD_SUFFIXES)
    )
    if not shards:
        raise UserError(
            f"{folder}: a folder must be a dataset saved with save_to_disk or hold "
            f"parquet/json shards ({', '.join(SHARD_SUFFIXES)}); found neither"
        )
    return shards


def saved_rows(folder: Path) -> list[dict[str, Any]]:
    """Rows of a `save_to_disk` folder; a DatasetDict gives its only split, or `train`."""
    datasets = require_datasets()
    try:
        loaded = datasets.load_from_disk(str(folder))
    except Exception as exc:  # noqa: BLE001 - any failure is one line naming the folder
        raise UserError(f"{folder}: not a readable saved dataset ({exc})") from exc
    if isinstance(loaded, datasets.DatasetDict):
        splits = list(loaded)
        if len(splits) != 1 and "train" not in splits:
            raise UserError(
                f"{folder}: a DatasetDict with splits {', '.join(splits)}; save the one to use"
            )
        loaded = loaded["train" if "train" in splits else splits[0]]
    return loaded.to_list()


def hub_rows(name: str) -> list[dict[str, Any]]:
    """Rows of a Hub dataset's split, through `datasets.load_dataset` (cache and offline mode)."""
    repo, revision, split = hub_spec(name) or (name, None, "train")
    datasets = require_datasets()
    try:
        return datasets.load_dataset(repo, revision=revision, split=split).to_list()
    except Exception as exc:  # noqa: BLE001 - offline, unknown repo or split: one line
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UserError(f"{name}: cannot load the Hub dataset ({first[:300]})") from exc
