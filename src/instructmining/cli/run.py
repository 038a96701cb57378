"""`instructmining run CONFIG.yaml` and `instructmining demo`: the whole loop in one command."""

from __future__ import annotations

import time
from importlib import resources
from pathlib import Path
from typing import Annotated

import typer

from instructmining.cli.app import app
from instructmining.cli.options import RunFlags, ThreadsOpt
from instructmining.threads import start_thread_budget

CONFIGS_RUN = RunFlags(executor=None)  # the config's executor unless one is given


def _finish(result, seconds: float) -> None:  # noqa: ANN001 - PipelineResult, imported lazily
    from instructmining.pipeline.summary import final_message

    typer.echo(final_message(result, seconds))


@app.command("run", renamed={"--workspace": "--output"})
def run(
    config: Annotated[Path, typer.Argument(help="YAML config of the whole loop.")],
    output: Annotated[
        Path | None,
        typer.Option("-o", "--output", help="Workspace folder (default: the config's)."),
    ] = None,
    execution: RunFlags = CONFIGS_RUN,
) -> None:
    """Run every stage a YAML config names; a rerun resumes where the last one stopped."""
    from instructmining.paths import refuse_overwrite
    from instructmining.pipeline.run import run_pipeline

    start_thread_budget(execution.threads)
    refuse_overwrite([output], [config])
    started = time.perf_counter()
    result = run_pipeline(config, output, execution.executor, execution.ray_address)
    _finish(result, time.perf_counter() - started)


@app.command("demo")
def demo(
    output: Annotated[Path, typer.Option("-o", "--output", help="Workspace folder.")] = Path(
        "demo-workspace"
    ),
    quick: Annotated[
        bool, typer.Option("--quick", help="A reduced size that finishes in a few minutes.")
    ] = False,
    threads: ThreadsOpt = None,
) -> None:
    """The whole loop on the bundled real data and offline models (what `make demo` runs)."""
    from instructmining.paths import refuse_overwrite
    from instructmining.pipeline.run import run_pipeline

    start_thread_budget(threads)
    name = "demo-quick.yaml" if quick else "demo.yaml"
    started = time.perf_counter()
    with resources.as_file(resources.files("instructmining.demo") / name) as config:
        refuse_overwrite([output], [config])
        result = run_pipeline(config, output)
    _finish(result, time.perf_counter() - started)
