"""The experiments stage, shared by `instructmining experiment` and the YAML `run` pipeline.

Both run the fine-tunes and then record their settings in WS/experiment.json; keeping the two
steps (and their order) in one place means the command and the pipeline cannot drift apart.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from instructmining.distributed.executor import Executor
from instructmining.experiments.arguments import limited_eval_set
from instructmining.experiments.config import ExperimentConfig, save_settings
from instructmining.experiments.holdout import HOLDOUT, write_holdout
from instructmining.experiments.runner import run_experiments
from instructmining.workspace import Workspace


def experiment_stage(
    workspace: Workspace | Path,
    eval_file: Path,
    config: ExperimentConfig,
    seeds: list[int],
    test_evals: dict[str, Path] | None = None,
    extra_seeds: dict[str, list[int]] | None = None,
    executor: Executor | None = None,
) -> pd.DataFrame:
    """Fine-tune on every subset and seed (`extra_seeds` repeats some subsets, to measure seed
    noise) and then record the evaluation sets and config in WS/experiment.json, which `search`
    and `compare` read; returns the runs table.

    The settings are saved after the runs, so bad input (an empty evaluation set, no subsets)
    leaves nothing behind. The caller holds the workspace lock."""
    runs = run_experiments(
        workspace,
        eval_file,
        config,
        seeds=seeds,
        test_evals=test_evals,
        extra_seeds=extra_seeds,
        executor=executor,
    )
    save_settings(workspace, eval_file, config, seeds, test_evals)
    return runs


def command_eval_sets(
    workspace: Workspace | Path,
    eval_file: Path,
    test_evals: dict[str, Path],
    eval_limit: int | None = None,
    holdout: float | None = None,
    holdout_seed: int = 0,
) -> tuple[Path, dict[str, Path]]:
    """The fit set and test sets of `instructmining experiment`: the first `eval_limit` items
    of `eval_file` (written to WS/eval.parquet), split into fitted and held-out items when
    `holdout` is given (the held-out items join the test sets as `holdout`).

    The YAML pipeline builds the same tables in its own evaluation-sets stage, with markers."""
    ws = Workspace.of(workspace)
    eval_file = limited_eval_set(eval_file, eval_limit, ws.root)
    tests = dict(test_evals)
    if holdout is not None:
        eval_file, tests[HOLDOUT] = write_holdout(workspace, eval_file, holdout, holdout_seed)
    return eval_file, tests


def check_model_and_device(base_model: str, device: str) -> None:
    """Fail before any run is recorded when every run would fail the same way (an unknown
    base model, a device this machine lacks)."""
    from instructmining.models.loader import load_tokenizer, select_device

    select_device(device)
    load_tokenizer(base_model)
