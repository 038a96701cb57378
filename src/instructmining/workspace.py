"""A workspace is one folder holding every stage's tables; one writer at a time holds its lock."""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock, Timeout

from instructmining.errors import UserError
from instructmining.storage import TEMP_SUFFIX, temp_file_pid


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
        """Hold the workspace's writer lock; a second writer waits `wait_seconds`, then refuses.

        A folder created here is removed again when the work under the lock fails before
        writing anything into it, so a command refused for bad input leaves no trace.
        """
        if self.root.exists() and not self.root.is_dir():
            raise UserError(f"{self.root}: not a folder (a workspace is a folder of tables)")
        created = _first_missing(self.root)
        lock = FileLock(str(self.root / ".lock"))
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            lock.acquire(timeout=wait_seconds)
        except Timeout as exc:
            raise UserError(
                f"{self.root}: another instructmining process is writing this workspace "
                f"(lock {self.root / '.lock'}); wait for it to finish"
            ) from exc
        except OSError as exc:
            raise UserError(f"{self.root}: cannot write: {exc.strerror or exc}") from exc
        _remove_stale_temp_files(self.root)
        try:
            yield
        except BaseException:
            lock.release()
            if created is not None and _only_lock_files(created):
                shutil.rmtree(created, ignore_errors=True)
            raise
        lock.release()


def _remove_stale_temp_files(root: Path) -> None:
    """Delete what killed writers left: `storage.atomic_path` temp files whose process is gone.

    Only where the project writes (the workspace folder and the run-record folders it made under
    `runs/`), never deeper, and only files named by `atomic_path`. Files of a live process (a
    writer that takes no lock) stay."""
    records = root / "runs"
    folders = [root, *(p for p in records.iterdir() if p.is_dir())] if records.is_dir() else [root]
    for folder in folders:
        for path in folder.glob(f".*{TEMP_SUFFIX}"):
            pid = temp_file_pid(path)
            if pid is not None and path.is_file() and not _process_alive(pid):
                path.unlink(missing_ok=True)


def _process_alive(pid: str) -> bool:
    if not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except OSError:  # it exists but belongs to someone else
        return True
    return True


def _first_missing(path: Path) -> Path | None:
    """The outermost folder of `path` that does not exist yet (None when it all exists)."""
    missing = None
    for folder in (path, *path.parents):
        if folder.exists():
            break
        missing = folder
    return missing


def _only_lock_files(folder: Path) -> bool:
    return all(p.is_dir() or p.name == ".lock" for p in folder.rglob("*"))
