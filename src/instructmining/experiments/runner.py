"""Fine-tune on every subset (and seed), skipping finished runs, recording each as it ends.

The driver builds picklable tasks (a subset's examples, the config, a seed and the evaluation
sets), hands them to an executor and alone writes the records and the runs table, so a local
loop, one process per GPU and Ray all share this code.
"""

from __future__ import annotations

import math
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from instructmining.data.example import POOL_COLUMNS
from instructmining.distributed.executor import Executor, default_executor
from instructmining.errors import UserError
from instructmining.experiments import records
from instructmining.experiments.config import ExperimentConfig, check_schedule, config_hash
from instructmining.experiments.train import RunResult, StepCallback, finetune_and_evaluate
from instructmining.hashing import hash_object
from instructmining.outcomes import BASELINE, with_text_ids
from instructmining.progress import progress_bar
from instructmining.storage import read_parquet, write_parquet
from instructmining.workspace import Workspace

# What a fine-tune reads of each example: the pool record without its source.
_EXAMPLE_FIELDS = [c for c in POOL_COLUMNS if c != "source"]


@dataclass(frozen=True)
class RunTask:
    """Everything one run needs, picklable: the executor may run it in another process."""

    subset_id: str
    seed: int
    config: ExperimentConfig
    examples: tuple[dict[str, Any], ...]
    evals: tuple[tuple[str, tuple[dict[str, Any], ...]], ...]  # ("", main eval) first


def execute(task: RunTask, on_step: StepCallback | None = None) -> RunResult:
    """Run one task in this process (the executor's function)."""
    evals = dict(task.evals)
    main = evals.pop("")
    return finetune_and_evaluate(task.examples, main, task.config, task.seed, evals, on_step)


def _eval_items(path: Path) -> tuple[dict[str, Any], ...]:
    from instructmining.data import read_examples

    items = read_examples(path, drop_empty=False)
    if items.empty:
        raise UserError(f"{path}: evaluation set has no examples")
    return tuple(items[_EXAMPLE_FIELDS].to_dict("records"))


def _subset_examples(ws: Workspace, subsets: pd.DataFrame | None) -> dict[str, list[dict]]:
    """subset_id -> its examples; subsets without example text are joined with the pool."""
    if subsets is None:
        subsets = read_parquet(ws.subsets, required=["subset_id", "id"])
    elif not {"subset_id", "id"} <= set(subsets.columns):
        raise UserError("subsets table needs columns subset_id and id")
    subsets = with_text_ids(subsets).astype({"subset_id": "string", "id": "string"})
    if BASELINE in set(subsets["subset_id"]):
        raise UserError(f"subset_id {BASELINE!r} is reserved for the base model's run")
    if not {"instruction", "output"} <= set(subsets.columns):
        pool = read_parquet(ws.pool, required=["id", "instruction", "output"])
        pool = pool.astype({"id": "string"}).drop_duplicates("id")
        missing = sorted(set(subsets["id"]) - set(pool["id"]))
        if missing:
            raise UserError(
                f"{ws.subsets}: {len(missing)} example id(s) not in {ws.pool} (first: {missing[0]})"
            )
        subsets = subsets[["subset_id", "id"]].merge(pool, on="id", how="left")
    for column in _EXAMPLE_FIELDS:
        if column not in subsets.columns:
            subsets[column] = ""
    subsets[_EXAMPLE_FIELDS] = subsets[_EXAMPLE_FIELDS].fillna("").astype(str)
    return {
        str(sid): group[_EXAMPLE_FIELDS].to_dict("records")
        for sid, group in subsets.groupby("subset_id", sort=False)
    }


def _row(task: RunTask, outcome: RunResult | BaseException, keys: dict[str, str]) -> dict:
    row: dict[str, Any] = {
        "subset_id": task.subset_id,
        "seed": task.seed,
        "examples": len(task.examples),
        "versions": records.versions(),
        **keys,
    }
    if isinstance(outcome, BaseException):
        error = "".join(traceback.format_exception_only(type(outcome), outcome)).strip()
        return {
            **row,
            "eval_loss": None,
            "train_loss": None,
            "tokens": 0,
            "seconds": None,
            "status": "failed",
            "error": error.splitlines()[-1][:500] if error else type(outcome).__name__,
        }
    tests = {f"test_loss__{name}": loss for name, loss in outcome.test_losses.items()}
    ids = {name or records.MAIN_EVAL: [item["id"] for item in items] for name, items in task.evals}
    items = {
        name or records.MAIN_EVAL: {"id": ids[name or records.MAIN_EVAL], "loss": s, "tokens": c}
        for name, (s, c) in outcome.item_losses.items()
    }
    train_loss = None if math.isnan(outcome.train_loss) else outcome.train_loss
    return {
        **row,
        "eval_loss": outcome.eval_loss,
        "train_loss": train_loss,
        "tokens": outcome.tokens,
        "seconds": outcome.seconds,
        "status": "ok",
        "error": None,
        **tests,
        records.ITEMS: items,
    }


def run_experiments(
    workspace: Workspace | Path,
    eval_file: Path,
    config: ExperimentConfig,
    seeds: list[int] | None = None,
    subsets: pd.DataFrame | None = None,
    runs_path: Path | None = None,
    test_evals: dict[str, Path] | None = None,
    executor: Executor | None = None,
    progress: bool = True,
    extra_seeds: dict[str, list[int]] | None = None,
    append: bool = False,
) -> pd.DataFrame:
    """Fine-tune on each subset and seed, plus a baseline run of the base model; returns the runs.

    `extra_seeds` repeats some subsets with more training seeds, so seed noise is measured
    without repeating every subset. `append` keeps, in the tables at `runs_path`, every run
    recorded under the same config and evaluation sets by earlier calls (search and compare
    train a few selections per call); without it they hold this call's subsets only.

    Finished runs with the same subset contents, seed, config and evaluation sets are skipped;
    failed runs are recorded with their error and retried on the next call. The caller holds the
    workspace lock (the CLI does).
    """
    seeds = [config.seed] if seeds is None else sorted(set(seeds))
    if not seeds:
        raise UserError("no seeds given")
    ws = Workspace.of(workspace)
    runs_path = Path(runs_path) if runs_path else ws.runs
    examples = _subset_examples(ws, subsets)
    evals = (("", _eval_items(Path(eval_file))),)
    evals += tuple((name, _eval_items(Path(p))) for name, p in sorted((test_evals or {}).items()))
    for items in examples.values():
        check_schedule(len(items), config)
    keys = {"config_hash": config_hash(config), "eval_hash": hash_object(evals)}
    folder = records.record_dir(runs_path, keys["config_hash"], keys["eval_hash"])
    subset_hashes = {BASELINE: records.subset_hash([])}
    for sid, items in examples.items():
        subset_hashes[sid] = records.subset_hash([e["id"] for e in items])

    plan = [(BASELINE, 0, ())] + [
        (sid, seed, tuple(ex))
        for sid, ex in examples.items()
        for seed in sorted(set(seeds) | set((extra_seeds or {}).get(sid, [])))
    ]
    tasks = [
        RunTask(sid, seed, config, ex, evals)
        for sid, seed, ex in plan
        if not records.is_finished(
            records.read_record(records.record_path(folder, sid, seed)), subset_hashes[sid]
        )
    ]
    executor = executor or default_executor()

    def save(task: RunTask, outcome: RunResult | BaseException) -> None:
        row = {**_row(task, outcome, keys), "subset_hash": subset_hashes[task.subset_id]}
        records.write_record(records.record_path(folder, task.subset_id, task.seed), row)
        write_parquet(records.collect(folder, subset_hashes, append), runs_path)

    _dispatch(executor, tasks, save, progress)
    table = records.collect(folder, subset_hashes, append)
    write_parquet(table, runs_path)
    items = records.collect_items(folder, subset_hashes, append)
    write_parquet(items, records.items_path(runs_path))
    return table[table["subset_id"].isin(list(subset_hashes))].reset_index(drop=True)


def _dispatch(
    executor: Executor,
    tasks: list[RunTask],
    save: Callable[[RunTask, RunResult | BaseException], None],
    progress: bool,
) -> None:
    """Run tasks through the executor with a bar over runs and, in-process, one over steps."""
    if not progress:
        for task, outcome in executor.map(execute, tasks):
            save(task, outcome)
        return
    with progress_bar("runs") as bar:
        runs = bar.add_task("fine-tuning runs", total=len(tasks), status="")
        steps = bar.add_task("", total=None, status="", unit="steps", visible=False)

        def on_step(done: int, total: int, status: str) -> None:
            bar.update(steps, completed=done, total=total, status=status)

        def run_with_steps(task: RunTask) -> RunResult:
            name = f"  {task.subset_id} seed {task.seed}"
            bar.reset(steps, total=None, description=name, status="", unit="steps", visible=True)
            return execute(task, on_step)

        failed = 0
        in_process = getattr(executor, "in_process", False)
        for task, outcome in executor.map(run_with_steps if in_process else execute, tasks):
            save(task, outcome)
            failed += isinstance(outcome, BaseException)
            bar.update(runs, advance=1, status=f"{failed} failed" if failed else "")
        bar.update(steps, visible=False)
