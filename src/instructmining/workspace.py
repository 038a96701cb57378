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
class WorkspaceFile:
    """One file (or folder) a workspace holds: its name inside the root, what it holds, and the
    command that writes it (the report names that command when the file is missing)."""

    name: str
    holds: str
    written_by: str


# Every name a workspace holds; nothing outside this module spells one (docs/workspace.md).
FILES: dict[str, WorkspaceFile] = {
    "pool": WorkspaceFile(
        "pool.parquet", "normalised examples, unique by id", "instructmining pool build"
    ),
    "eval": WorkspaceFile(
        "eval.parquet", "the evaluation set fine-tunes are scored on", "instructmining run"
    ),
    "test_eval": WorkspaceFile(
        "test_eval.parquet",
        "a second evaluation set, reported, never optimised",
        "instructmining run",
    ),
    "holdout": WorkspaceFile(
        "holdout.json",
        "the seeded held-out split of the fit set: fit_ids, holdout_ids, seed",
        "instructmining experiment --holdout",
    ),
    "eval_fit": WorkspaceFile(
        "eval_fit.parquet",
        "the fit set's items the rule is fitted on (with a held-out split)",
        "instructmining experiment --holdout",
    ),
    "eval_holdout": WorkspaceFile(
        "eval_holdout.parquet",
        "the fit set's held-out items, never fitted on",
        "instructmining experiment --holdout",
    ),
    "overlap": WorkspaceFile(
        "overlap.json",
        "counts of pool examples that repeat an evaluation item (exact, near)",
        "instructmining run (overlap)",
    ),
    "overlap_pairs": WorkspaceFile(
        "overlap.parquet",
        "each pool example / evaluation item pair that overlaps, with its similarity",
        "instructmining run (overlap)",
    ),
    "indicators": WorkspaceFile(
        "indicators.parquet", "id and one column per indicator value", "instructmining indicators"
    ),
    "subsets": WorkspaceFile(
        "subsets.parquet", "subset_id and id of each sampled subset", "instructmining sample"
    ),
    "mixtures": WorkspaceFile(
        "subsets_mixtures.parquet", "each subset's share per source", "instructmining sample"
    ),
    "subset_indicators": WorkspaceFile(
        "subset_indicators.parquet",
        "mean indicators per subset (optional; computed when absent)",
        "instructmining indicators --subsets-file",
    ),
    "experiment": WorkspaceFile(
        "experiment.json",
        "evaluation sets (relative paths) and fine-tuning config of the runs",
        "instructmining experiment",
    ),
    "runs": WorkspaceFile(
        "runs.parquet", "one row per fine-tune: subset, seed, losses", "instructmining experiment"
    ),
    "run_records": WorkspaceFile(
        "runs",
        "one JSON record per finished run, by config and evaluation set",
        "instructmining experiment",
    ),
    "runs_items": WorkspaceFile(
        "runs_items.parquet",
        "each run's loss on each evaluation item (loss_sum, tokens)",
        "instructmining experiment",
    ),
    "rule": WorkspaceFile("rule.json", "the fitted rule and its statistics", "instructmining fit"),
    "rounds": WorkspaceFile(
        "rounds.parquet",
        "one row per sequential design round: subsets, runs and the fit's CV R²",
        "instructmining run (sampling.rounds)",
    ),
    "round_rules": WorkspaceFile(
        "rules", "each design round's fitted rule, round<k>.json", "instructmining run"
    ),
    "refine": WorkspaceFile(
        "refine.parquet",
        "one row per refine round: the selection, its predicted and measured log loss",
        "instructmining refine",
    ),
    "selected": WorkspaceFile(
        "selected.jsonl", "the selected examples, best first", "instructmining select"
    ),
    "selection": WorkspaceFile(
        "selected.scores.parquet",
        "id, score, rank and selected of every pool example (with filters: excluded, near)",
        "instructmining select",
    ),
    "search": WorkspaceFile(
        "search.parquet", "one row per trial of the size search", "instructmining search"
    ),
    "search_runs": WorkspaceFile(
        "search_runs.parquet",
        "every trial's fine-tunes (kept out of runs.parquet)",
        "instructmining search",
    ),
    "search_records": WorkspaceFile(
        "search_runs", "run records of the search's fine-tunes", "instructmining search"
    ),
    "search_runs_items": WorkspaceFile(
        "search_runs_items.parquet",
        "per-item losses of every trial's fine-tunes",
        "instructmining search",
    ),
    "compare": WorkspaceFile(
        "compare.parquet", "eval loss per selector and seed", "instructmining compare"
    ),
    "compare_summary": WorkspaceFile(
        "compare_summary.parquet",
        "per selector: mean, sd and the difference to the rule with its interval",
        "instructmining compare",
    ),
    "compare_runs": WorkspaceFile(
        "compare_runs.parquet",
        "every seed's fine-tunes of every selection compared",
        "instructmining compare",
    ),
    "compare_records": WorkspaceFile(
        "compare_runs", "run records of the comparison's fine-tunes", "instructmining compare"
    ),
    "compare_items": WorkspaceFile(
        "compare_items.parquet",
        "each comparison run's loss on each item of every evaluation set",
        "instructmining compare",
    ),
    "compare_runs_items": WorkspaceFile(
        "compare_runs_items.parquet",
        "per-item losses of every fine-tune in compare_runs.parquet",
        "instructmining compare",
    ),
    "report": WorkspaceFile(
        "report.html", "the self-contained HTML report", "instructmining report"
    ),
    "cache": WorkspaceFile(
        "cache", "indicator values by content and model identity", "instructmining indicators"
    ),
    "permutations": WorkspaceFile(
        "cache/permutations",
        "permutation-test null distributions by fit table and settings",
        "instructmining fit",
    ),
    "markers": WorkspaceFile(
        "stages",
        "completion markers: hashes of each stage's settings, inputs and outputs",
        "instructmining run",
    ),
    "lock": WorkspaceFile(".lock", "the writer lock", "every command that writes"),
}

# The tables (files, not folders) commands read; the report is only ever written.
TABLES: tuple[str, ...] = tuple(
    entry.name
    for key, entry in FILES.items()
    if Path(entry.name).suffix and not entry.name.startswith(".") and key != "report"
)

_MIXTURES_SUFFIX = "_mixtures.parquet"
_SCORES_SUFFIX = ".scores.parquet"


def _named(key: str) -> property:
    entry = FILES[key]
    return property(lambda self: self.root / entry.name, doc=entry.holds)


def mixtures_beside(subsets: Path) -> Path:
    """The mixtures table written with a subsets table: `<stem>_mixtures.parquet` beside it
    (`WS/subsets_mixtures.parquet` in a workspace), one rule for CLI and pipeline."""
    return subsets.with_name(f"{subsets.stem}{_MIXTURES_SUFFIX}")


def selection_beside(selected: str | Path) -> Path:
    """The scores table written with a selection: `NAME.scores.parquet` beside `NAME.jsonl`
    (`WS/selected.scores.parquet` in a workspace), so selections in one folder keep their
    scores; one rule for CLI and pipeline."""
    selected = Path(selected)
    return selected.with_name(selected.name.split(".", 1)[0] + _SCORES_SUFFIX)


@dataclass(frozen=True)
class Workspace:
    """Named paths of a workspace folder; `FILES` lists every one."""

    root: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root))

    @classmethod
    def of(cls, where: Workspace | str | Path) -> Workspace:
        """The workspace itself, or the one rooted at a folder (API functions accept either)."""
        return where if isinstance(where, Workspace) else cls(Path(where))

    pool = _named("pool")
    holdout = _named("holdout")
    eval_fit = _named("eval_fit")
    eval_holdout = _named("eval_holdout")
    overlap = _named("overlap")
    overlap_pairs = _named("overlap_pairs")
    runs_items = _named("runs_items")
    search_runs_items = _named("search_runs_items")
    compare_items = _named("compare_items")
    compare_runs_items = _named("compare_runs_items")
    permutations = _named("permutations")
    indicators = _named("indicators")
    subsets = _named("subsets")
    mixtures = _named("mixtures")
    subset_indicators = _named("subset_indicators")
    experiment = _named("experiment")
    runs = _named("runs")
    rule = _named("rule")
    rounds = _named("rounds")
    round_rules = _named("round_rules")
    refine = _named("refine")
    selected = _named("selected")
    selection = _named("selection")
    search = _named("search")
    search_runs = _named("search_runs")
    compare = _named("compare")
    compare_summary = _named("compare_summary")
    compare_runs = _named("compare_runs")
    report = _named("report")
    cache = _named("cache")
    markers = _named("markers")

    def path(self, key: str) -> Path:
        """The path of a `FILES` entry by its key (stages declare inputs and outputs by key)."""
        return self.root / FILES[key].name

    def eval_set(self, name: str) -> Path:
        """An evaluation set copied into the workspace: `eval`, `test_eval`, or
        `test_eval_<NAME>` for one of several named test sets (`test_eval_<NAME>.parquet`)."""
        if name in FILES:
            return self.path(name)
        single = Path(FILES["test_eval"].name)
        if not name.startswith(f"{single.stem}_"):
            raise KeyError(f"not an evaluation set of a workspace: {name!r}")
        return self.root / f"{name}{single.suffix}"

    def marker(self, stage: str) -> Path:
        return self.markers / f"{stage}.json"

    def relative(self, path: str | Path) -> str:
        """How a file inside the workspace refers to another: relative to the root, so a moved
        or copied workspace still finds it; a file outside stays absolute."""
        path = Path(path).resolve()
        try:
            return path.relative_to(self.root.resolve()).as_posix()
        except ValueError:
            return str(path)

    def resolve(self, stored: str | Path) -> Path:
        """The path a `relative` string names (relative ones start at the root)."""
        stored = Path(stored)
        return stored if stored.is_absolute() else self.root / stored

    @contextlib.contextmanager
    def lock(
        self, wait_seconds: float = 0.0, target: Path | None = None, tidy: bool = False
    ) -> Iterator[None]:
        """Hold the workspace's writer lock; a second writer waits `wait_seconds`, then refuses.
        `target`, the file a command is about to write, is what an unwritable folder's error names.
        `tidy` (a plain folder of the user's files, not a workspace) removes a lock file this
        call created once the work is done, so only the written files are left beside them.

        A folder created here is removed again when the work under the lock fails before
        writing anything into it, so a command refused for bad input leaves no trace.
        """
        if self.root.exists() and not self.root.is_dir():
            raise UserError(f"{self.root}: not a folder (a workspace is a folder of tables)")
        created = _first_missing(self.root)
        lock_path = self.path("lock")
        fresh = tidy and not lock_path.exists()
        lock = FileLock(str(lock_path))
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            lock.acquire(timeout=wait_seconds)
        except Timeout as exc:
            raise UserError(
                f"{self.root}: another instructmining process is writing this workspace "
                f"(lock {self.path('lock')}); wait for it to finish"
            ) from exc
        except OSError as exc:
            raise UserError(f"{target or self.root}: cannot write: {exc.strerror or exc}") from exc
        _remove_stale_temp_files(self.root)
        try:
            yield
        except BaseException:
            lock.release()
            if fresh:
                lock_path.unlink(missing_ok=True)
            if created is not None and _only_lock_files(created):
                shutil.rmtree(created, ignore_errors=True)
            raise
        lock.release()
        if fresh:
            lock_path.unlink(missing_ok=True)


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
    return all(p.is_dir() or p.name == FILES["lock"].name for p in folder.rglob("*"))
