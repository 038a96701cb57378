"""A workspace is one folder holding every stage's tables; one writer at a time holds its lock."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock, Timeout

from instructmining.errors import UserError


@dataclass(frozen=True)
class Workspace:
    """Named paths of a workspace folder (see docs: data flow)."""

    root: Path

    @property
    def pool(self) -> Path:
        return self.root / "pool.parquet"

    @property
    def indicators(self) -> Path:
        return self.root / "indicators.parquet"

    @property
    def subsets(self) -> Path:
        return self.root / "subsets.parquet"

    @property
    def runs(self) -> Path:
        return self.root / "runs.parquet"

    @property
    def rule(self) -> Path:
        return self.root / "rule.json"

    @property
    def search(self) -> Path:
        return self.root / "search.parquet"

    @property
    def compare(self) -> Path:
        return self.root / "compare.parquet"

    @property
    def cache(self) -> Path:
        return self.root / "cache"

    @contextlib.contextmanager
    def lock(self, wait_seconds: float = 0.0) -> Iterator[None]:
        """Hold the workspace's writer lock; a second writer waits `wait_seconds`, then refuses."""
        self.root.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(self.root / ".lock"))
        try:
            lock.acquire(timeout=wait_seconds)
        except Timeout as exc:
            raise UserError(
                f"{self.root}: another instructmining process is writing this workspace "
                f"(lock {self.root / '.lock'}); wait for it to finish"
            ) from exc
        try:
            yield
        finally:
            lock.release()
