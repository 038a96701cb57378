"""Indicator values and embeddings in one SQLite file, committed batch by batch.

A value is keyed by (spec, column, example id), where the spec hashes the indicator's name,
version, model identity and parameters; so a run killed at any point keeps every finished
batch, and a rerun computes only what is missing. WAL mode lets readers and a second writer
wait instead of failing. A stored NULL means "computed, not scorable" and is never recomputed.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from instructmining.errors import UserError
from instructmining.hashing import stable_json

_SCHEMA = """
CREATE TABLE IF NOT EXISTS specs (spec TEXT PRIMARY KEY, definition TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS vals (
    spec TEXT NOT NULL, col TEXT NOT NULL, id TEXT NOT NULL, value REAL,
    PRIMARY KEY (spec, col, id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS vectors (
    model TEXT NOT NULL, key TEXT NOT NULL, vec BLOB NOT NULL, PRIMARY KEY (model, key)
) WITHOUT ROWID;
"""

FILE_NAME = "indicators.sqlite"


class ValueCache:
    """The store behind every indicator; `path=None` keeps it in memory (nothing persists)."""

    def __init__(self, cache_dir: Path | None) -> None:
        if cache_dir is None:
            self.path: Path | None = None
            target = ":memory:"
        else:
            self.path = Path(cache_dir) / FILE_NAME
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise UserError(f"{cache_dir}: cannot create cache folder: {exc.strerror}") from exc
            target = str(self.path)
        try:
            self._db = sqlite3.connect(target, timeout=120)
            if self.path is not None:
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise UserError(f"{target}: unusable indicator cache ({exc})") from exc

    def close(self) -> None:
        self._db.close()

    def put_spec(self, spec: str, definition: dict) -> None:
        with self._db:
            self._db.execute(
                "INSERT OR IGNORE INTO specs VALUES (?, ?)", (spec, stable_json(definition))
            )

    def get(self, spec: str, column: str) -> dict[str, float | None]:
        """Every stored value of one column under one spec: id -> value (None when unscorable)."""
        rows = self._db.execute("SELECT id, value FROM vals WHERE spec=? AND col=?", (spec, column))
        return dict(rows)

    def put(self, spec: str, values: dict[str, list], ids: list[str]) -> None:
        """Store one batch (column -> values aligned with `ids`) in a single transaction."""
        rows = [
            (spec, column, id_, None if v is None or v != v else float(v))
            for column, column_values in values.items()
            for id_, v in zip(ids, column_values, strict=True)
        ]
        with self._db:
            self._db.executemany("INSERT OR REPLACE INTO vals VALUES (?, ?, ?, ?)", rows)

    def count(self, spec: str) -> int:
        return self._db.execute("SELECT COUNT(*) FROM vals WHERE spec=?", (spec,)).fetchone()[0]

    def get_vectors(self, model: str, keys: Iterable[str]) -> dict[str, np.ndarray]:
        """Stored float32 vectors of `model` for those of `keys` that have one."""
        wanted = set(keys)
        rows = self._db.execute("SELECT key, vec FROM vectors WHERE model=?", (model,))
        return {k: np.frombuffer(v, dtype=np.float32) for k, v in rows if k in wanted}

    def put_vectors(self, model: str, keys: list[str], vectors: np.ndarray) -> None:
        rows = [
            (model, k, np.ascontiguousarray(v, dtype=np.float32).tobytes())
            for k, v in zip(keys, vectors, strict=True)
        ]
        with self._db:
            self._db.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?, ?)", rows)
