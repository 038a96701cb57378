"""The indicators table on disk: values plus their provenance in the Parquet metadata.

`fit` copies these definitions (models, versions, parameters) into rule.json, so a rule says
exactly which models its indicators came from.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow as pa

from instructmining.hashing import stable_json
from instructmining.indicators.options import IndicatorOptions
from instructmining.indicators.registry import indicator_definitions
from instructmining.storage import write_parquet

METADATA_KEY = b"indicator_definitions"


def write_indicators(
    table: pd.DataFrame,
    path: Path,
    names: str | list[str],
    options: IndicatorOptions,
    pool: pd.DataFrame,
) -> None:
    """Write `table` atomically with the definitions of its columns (computed over `pool`, whose
    texts identify a kNN reference set) in the schema metadata."""
    definitions = indicator_definitions(names, options, pool)
    arrow = pa.Table.from_pandas(table, preserve_index=False)
    metadata = dict(arrow.schema.metadata or {})
    metadata[METADATA_KEY] = json.dumps(json.loads(stable_json(definitions))).encode("utf-8")
    write_parquet(arrow.replace_schema_metadata(metadata), path)


def read_indicators(path: Path) -> pd.DataFrame:
    """An indicators table with its recorded definitions in `attrs["definitions"]` (empty when
    the file records none) and its path in `attrs["path"]`, for a selection's provenance."""
    import pyarrow.parquet as pq

    from instructmining.storage import read_parquet

    table = read_parquet(path, required=["id"])
    raw = (pq.read_schema(path).metadata or {}).get(METADATA_KEY)
    table.attrs["definitions"] = json.loads(raw) if raw else {}
    table.attrs["path"] = str(path)
    return table
