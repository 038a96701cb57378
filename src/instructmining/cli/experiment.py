"""`instructmining experiment WS/ --eval FILE`: a thin layer over `run_experiments`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from instructmining.cli.app import app
from instructmining.cli.options import LOCAL_RUN, RunFlags
from instructmining.distributed.options import executor_from_options
from instructmining.experiments import preset, run_experiments, save_settings, summarize
from instructmining.experiments.arguments import (
    SEEDS_HELP,
    TEST_EVAL_HELP,
    limited_eval_set,
    parse_seeds,
    parse_test_evals,
)
from instructmining.experiments.holdout import HOLDOUT, write_holdout
from instructmining.paths import refuse_overwrite
from instructmining.pipeline.config import ExperimentsConfig, default_of
from instructmining.threads import start_thread_budget
from instructmining.workspace import Workspace

if TYPE_CHECKING:
    import pandas as pd

_PRESET_HELP = (
    "cpu-small: SmolLM2-135M-Instruct + LoRA, sized for a CPU; "
    "paper: full fine-tuning, 3 epochs, lr 2e-5, batch 128, length 2048 (about 143 GB GPU); "
    "paper-lora: the same schedule with LoRA r 16, lr 2e-4 (about 25 GB: one 80 GB GPU)."
)


def runs_agreement(ws: Workspace, runs: pd.DataFrame) -> str:
    """How far the recorded evaluation sets agree, with the sources each prefers."""
    from instructmining.rule.sets_text import runs_agreement_text
    from instructmining.storage import read_parquet

    pool = read_parquet(ws.pool) if ws.pool.exists() else None
    subsets = read_parquet(ws.subsets) if ws.subsets.exists() else None
    return runs_agreement_text(runs, pool, subsets)


def _check_model_and_device(base_model: str, device: str) -> None:
    """Fail before any run is recorded when every run would fail the same way."""
    from instructmining.models.loader import load_tokenizer, select_device

    select_device(device)
    load_tokenizer(base_model)


@app.command("experiment")
def experiment(
    workspace: Annotated[Path, typer.Argument(help="Workspace (pool, subsets).")],
    eval_file: Annotated[Path, typer.Option("--eval", help="Evaluation set (any pool format).")],
    base_model: Annotated[
        str | None, typer.Option(help="HF id, local folder, .gguf file or bundled alias.")
    ] = None,
    preset_name: Annotated[str, typer.Option("--preset", help=_PRESET_HELP)] = default_of(
        ExperimentsConfig, "preset"
    ),
    seeds: Annotated[str, typer.Option(help=SEEDS_HELP)] = "1",
    test_eval: Annotated[list[str] | None, typer.Option(help=TEST_EVAL_HELP)] = None,
    eval_limit: Annotated[
        int | None, typer.Option(help="Use the first N items (by id), as YAML's limit.")
    ] = None,
    epochs: Annotated[int | None, typer.Option()] = None,
    lr: Annotated[float | None, typer.Option()] = None,
    schedule: Annotated[str | None, typer.Option(help="cosine, linear or constant.")] = None,
    warmup: Annotated[float | None, typer.Option(help="Warm-up fraction of steps.")] = None,
    lora: Annotated[bool | None, typer.Option("--lora/--full", help="LoRA or full.")] = None,
    lora_r: Annotated[int | None, typer.Option()] = None,
    lora_alpha: Annotated[float | None, typer.Option()] = None,
    max_length: Annotated[int | None, typer.Option(help="Tokens per example.")] = None,
    batch_size: Annotated[int | None, typer.Option(help="Examples per forward pass.")] = None,
    grad_accum: Annotated[int | None, typer.Option(help="Forward passes per step.")] = None,
    eval_batch_size: Annotated[int | None, typer.Option()] = None,
    bf16: Annotated[bool | None, typer.Option("--bf16/--fp32")] = None,
    gradient_checkpointing: Annotated[
        bool | None, typer.Option(help="Recompute activations to save memory.")
    ] = None,
    device: Annotated[str | None, typer.Option(help="auto, cpu or cuda.")] = None,
    holdout: Annotated[
        float | None,
        typer.Option(help="Hold out this share of the --eval items (seeded): never fitted on."),
    ] = None,
    holdout_seed: Annotated[int, typer.Option(help="Seed of the held-out split.")] = 0,
    execution: RunFlags = LOCAL_RUN,
) -> None:
    """Fine-tune the base model on every subset (and seed) and record its evaluation loss.

    Finished runs are kept in WS/runs/ and skipped on rerun; failed runs are retried.
    """
    tests = parse_test_evals(test_eval or [])
    ws = Workspace(workspace)
    written = [ws.runs, ws.experiment]
    refuse_overwrite(written, [eval_file, *tests.values()])
    config = preset(
        preset_name,
        base_model=base_model,
        epochs=epochs,
        lr=lr,
        schedule=schedule,
        warmup=warmup,
        lora=lora,
        lora_r=lora_r,
        lora_alpha=lora_alpha,
        max_length=max_length,
        batch_size=batch_size,
        grad_accum=grad_accum,
        eval_batch_size=eval_batch_size,
        bf16=bf16,
        gradient_checkpointing=gradient_checkpointing,
        device=device,
    )
    _check_model_and_device(config.base_model, config.device)
    start_thread_budget(execution.threads)
    runner = executor_from_options(execution.executor, execution.ray_address)
    seed_list = parse_seeds(seeds)
    with ws.lock():
        eval_file = limited_eval_set(eval_file, eval_limit, ws.root)
        if holdout is not None:
            eval_file, tests[HOLDOUT] = write_holdout(workspace, eval_file, holdout, holdout_seed)
        runs = run_experiments(
            workspace,
            eval_file,
            config,
            seeds=seed_list,
            test_evals=tests,
            executor=runner,
        )
        # After the runs: bad input (an empty evaluation set, no subsets) leaves nothing behind.
        save_settings(workspace, eval_file, config, seed_list, tests)
    typer.echo(f"{ws.runs}: {len(runs)} run(s)", err=True)
    typer.echo(summarize(runs))
    typer.echo(runs_agreement(ws, runs))
