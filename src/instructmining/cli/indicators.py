"""`instructmining indicators`: per-example quality indicators, or their subset means."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from instructmining.cli.app import app
from instructmining.cli.options import LOCAL_RUN, ModelFlags, RunFlags
from instructmining.distributed.options import indicator_runner
from instructmining.errors import UserError
from instructmining.indicators import (
    INDICATOR_NAMES,
    IndicatorOptions,
    IndicatorRun,
    indicators_stage,
    parse_names,
)
from instructmining.indicators.options import DEFAULT_REWARD_MODEL, DEFAULT_UNIEVAL_MODEL
from instructmining.indicators.registry import instantiate
from instructmining.models.loader import DEFAULT_EMBEDDER, DEFAULT_LM, model_availability
from instructmining.paths import refuse_overwrite
from instructmining.pipeline.config import IndicatorsConfig, default_of
from instructmining.storage import read_parquet
from instructmining.threads import start_thread_budget
from instructmining.workspace import Workspace

DEFAULT_NAMES = ",".join(default_of(IndicatorsConfig, "names"))
DEFAULT_MODELS = ModelFlags(
    lm=DEFAULT_LM,
    reward_model=DEFAULT_REWARD_MODEL,
    unieval_model=DEFAULT_UNIEVAL_MODEL,
    judge_model=DEFAULT_LM,
    embedder=DEFAULT_EMBEDDER,
    k=default_of(IndicatorsConfig, "k"),
    device="auto",
)
console = Console(stderr=True)


def _list(options: IndicatorOptions) -> None:
    """One line per indicator: its columns, what it scores in a conversation, its model."""
    rows = [("name", "columns", "scores", "model", "available offline")]
    for name in INDICATOR_NAMES:
        indicator = instantiate([name], options)[0]
        model = indicator.model_name()
        where = model_availability(model) if model else "no model needed"
        rows.append((name, ",".join(indicator.outputs()), indicator.scope, model or "-", where))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for row in rows:
        typer.echo("  ".join([*(c.ljust(w) for c, w in zip(row, widths, strict=False)), row[4]]))
    typer.echo(
        "scores: what a value is about in a conversation kept whole (pool build --all-turns): "
        "the last assistant turn, given the turns before it, or the whole conversation"
    )


def _report(run: IndicatorRun) -> None:
    work = Table(title="indicator run")
    for column in ("indicator", "computed", "cached", "batches", "seconds", "examples/s"):
        work.add_column(column, justify="left" if column == "indicator" else "right")
    for s in run.stats:
        rate = f"{s.computed / s.seconds:.1f}" if s.seconds > 0 else "-"
        work.add_row(
            s.name, str(s.computed), str(s.cached), str(s.batches), f"{s.seconds:.1f}", rate
        )
    console.print(work)
    summary = Table(title="values")
    for column in ("column", "count", "nulls", "mean"):
        summary.add_column(column, justify="left" if column == "column" else "right")
    for row in run.summary().itertuples(index=False):
        summary.add_row(row.column, str(row.count), str(row.nulls), f"{row.mean:.4g}")
    console.print(summary)
    for note in run.notes:
        console.print(note)


@app.command("indicators", renamed={"--cache": "--cache-dir", "--subsets": "--subsets-file"})
def indicators(
    pool: Annotated[Path | None, typer.Argument(help="Pool table (pool.parquet).")] = None,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Table to write (id + one column each).")
    ] = None,
    names: Annotated[
        str, typer.Option("--indicators", help=f"Comma list of {','.join(INDICATOR_NAMES)} or all.")
    ] = DEFAULT_NAMES,
    models: ModelFlags = DEFAULT_MODELS,
    reward_format: Annotated[
        str, typer.Option(help="oasst (OpenAssistant RM format), chat (template) or plain.")
    ] = "oasst",
    length_tokenizer: Annotated[
        str | None, typer.Option(help="Tokenizer for lengths (default: the --lm's).")
    ] = None,
    knn_reference: Annotated[
        Path | None, typer.Option(help="Reference set for knn (default: the pool itself).")
    ] = None,
    batch_size: Annotated[
        int | None, typer.Option(help="Examples per batch (default: per indicator).")
    ] = None,
    max_length: Annotated[
        int | None,
        typer.Option(help="Token limit per model input (default: 2048 on a GPU, 1024 on a CPU)."),
    ] = default_of(IndicatorsConfig, "max_length"),
    fp32: Annotated[bool, typer.Option("--fp32", help="No bf16 autocast.")] = False,
    cache_dir: Annotated[
        Path | None, typer.Option(help="Indicator cache (default: WS/cache beside the output).")
    ] = None,
    subsets: Annotated[
        Path | None,
        typer.Option("--subsets-file", help="subsets.parquet: write per-subset means instead."),
    ] = None,
    list_: Annotated[bool, typer.Option("--list", help="List indicators and exit.")] = False,
    execution: RunFlags = LOCAL_RUN,
) -> None:
    """Compute quality indicators per example; values are cached and a rerun resumes."""
    options = IndicatorOptions(
        **models.as_kwargs(),
        length_tokenizer=length_tokenizer,
        reward_format=reward_format,
        knn_reference=knn_reference,
        batch_size=batch_size,
        max_length=max_length,
        bf16=not fp32,
    )
    if list_:
        _list(options)
        return
    if pool is None or output is None:
        raise UserError("give a pool table and -o OUTPUT (or --list)")
    refuse_overwrite([output], [pool, subsets, knn_reference])
    parse_names(names)
    start_thread_budget(execution.threads)
    runner = indicator_runner(execution.executor, execution.ray_address)
    table = read_parquet(pool, required=["id", "instruction", "output"])
    ws = Workspace(output.parent)
    with ws.lock():
        run, result = indicators_stage(
            table, names, options, output, cache_dir or ws.cache, runner, subsets
        )
    _report(run)
    typer.echo(
        f"wrote {len(result)} rows x {len(result.columns) - 1} indicator columns to {output}"
    )
