"""`instructmining experiment WS/ --eval FILE`: a thin layer over `experiment_stage`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from instructmining.cli.app import app
from instructmining.cli.options import LOCAL_RUN, RunFlags
from instructmining.distributed.options import executor_from_options
from instructmining.experiments import experiment_stage, preset, summarize
from instructmining.experiments.arguments import (
    SEEDS_HELP,
    TEST_EVAL_HELP,
    parse_seeds,
    parse_test_evals,
)
from instructmining.experiments.stage import check_model_and_device, command_eval_sets
from instructmining.paths import refuse_overwrite
from instructmining.pipeline.config import ExperimentsConfig, default_of
from instructmining.threads import start_thread_budget
from instructmining.workspace import Workspace

_PRESET_HELP = (
    "cpu-small: SmolLM2-135M-Instruct + LoRA, sized for a CPU; "
    "paper: full fine-tuning, 3 epochs, lr 2e-5, batch 128, length 2048 (about 143 GB GPU); "
    "paper-lora: the same schedule with LoRA r 16, lr 2e-4 (about 25 GB: one 80 GB GPU)."
)


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
    epochs: Annotated[int | None, typer.Option(help="Passes over each subset.")] = None,
    lr: Annotated[float | None, typer.Option(help="Peak learning rate.")] = None,
    schedule: Annotated[str | None, typer.Option(help="cosine, linear or constant.")] = None,
    warmup: Annotated[float | None, typer.Option(help="Warm-up fraction of steps.")] = None,
    lora: Annotated[bool | None, typer.Option("--lora/--full", help="LoRA or full.")] = None,
    lora_r: Annotated[int | None, typer.Option(help="LoRA rank.")] = None,
    lora_alpha: Annotated[float | None, typer.Option(help="LoRA scaling alpha.")] = None,
    max_length: Annotated[int | None, typer.Option(help="Tokens per example.")] = None,
    batch_size: Annotated[int | None, typer.Option(help="Examples per forward pass.")] = None,
    grad_accum: Annotated[int | None, typer.Option(help="Forward passes per step.")] = None,
    eval_batch_size: Annotated[
        int | None, typer.Option(help="Examples per forward pass when evaluating.")
    ] = None,
    bf16: Annotated[
        bool | None, typer.Option("--bf16/--fp32", help="bf16 mixed precision or fp32.")
    ] = None,
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
    from instructmining.rule.sets_text import runs_agreement

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
    check_model_and_device(config.base_model, config.device)
    start_thread_budget(execution.threads)
    runner = executor_from_options(execution.executor, execution.ray_address)
    seed_list = parse_seeds(seeds)
    with ws.lock():
        eval_file, tests = command_eval_sets(
            workspace, eval_file, tests, eval_limit, holdout, holdout_seed
        )
        runs = experiment_stage(workspace, eval_file, config, seed_list, tests, executor=runner)
    typer.echo(f"{ws.runs}: {len(runs)} run(s)", err=True)
    typer.echo(summarize(runs))
    typer.echo(runs_agreement(ws, runs))
