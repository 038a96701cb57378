"""`instructmining pool build|stats` and `instructmining sample`: thin layers over data/sampling."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from instructmining.cli.app import CommandLine, app
from instructmining.data import FORMATS, build_pool, pool_stats, read_pool, write_pool
from instructmining.data.pool import build_summary, cap_per_source
from instructmining.data.problems import ON_ERROR_CHOICES
from instructmining.data.readers import ReadLimits
from instructmining.errors import UserError
from instructmining.paths import refuse_overwrite
from instructmining.sampling import DEFAULT_ALPHA, DEFAULT_TEMPERATURE, design_stage
from instructmining.sampling.selections import DEFAULT_MAX_OVERLAP, DEFAULT_RANDOM_SHARE
from instructmining.sampling.show import print_figures
from instructmining.storage import read_parquet
from instructmining.workspace import Workspace, mixtures_beside

pool_app = CommandLine(help="Build and inspect the instruction pool.", no_args_is_help=True)
app.add_typer(pool_app, name="pool")

_FORMAT_HELP = "Input format: auto, " + ", ".join(sorted(FORMATS)) + "."


def _err(message: str) -> None:
    typer.echo(message, err=True)


@pool_app.command("build")
def build(
    files: Annotated[
        list[Path],
        typer.Argument(
            help="JSON, JSONL, Parquet or XML (maybe .gz), a Hugging Face dataset folder or hf://datasets/OWNER/NAME[@REV][:SPLIT]."
        ),
    ],
    output: Annotated[Path, typer.Option("-o", "--output", help="Pool table to write.")],
    format: Annotated[str, typer.Option("--format", help=_FORMAT_HELP)] = "auto",
    source: Annotated[
        str | None, typer.Option(help="Source name (default: the file's stem).")
    ] = None,
    on_error: Annotated[
        str, typer.Option(help="fail: stop at a bad record; skip: count it.")
    ] = "fail",
    all_turns: Annotated[
        bool,
        typer.Option(
            help="Keep each conversation whole (every turn, in order) as one example, not only "
            "its first exchange; see docs/conversations.md."
        ),
    ] = False,
    max_file_mb: Annotated[
        int, typer.Option(help="Refuse a file larger than this many MiB once decompressed.")
    ] = ReadLimits.max_file_mb,
    max_record_mb: Annotated[
        int, typer.Option(help="Refuse a record larger than this many MiB.")
    ] = ReadLimits.max_record_mb,
    per_source: Annotated[
        int | None, typer.Option(help="Keep a seeded sample of at most N per source.")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the --per-source sample.")] = 0,
) -> None:
    """Read instruction files into one normalised, deduplicated pool table."""
    refuse_overwrite([output], files)
    if on_error not in ON_ERROR_CHOICES:
        raise UserError(f"--on-error must be fail or skip, not {on_error!r}")
    how = "detected" if format == "auto" else "given"

    def announce(path: Path, name: str) -> None:
        _err(f"{path}: format {name} ({how})")

    hint = "--on-error skip skips and counts such records"
    limits = ReadLimits(max_file_mb, max_record_mb)
    with Workspace(output.parent).lock(target=output):
        result = build_pool(
            files,
            format,
            source,
            on_error,
            all_turns,
            on_format=announce,
            limits=limits,
            error_hint=hint,
        )
        for line in build_summary(result):
            _err(line)
        pool = cap_per_source(result.pool, per_source, seed)
        if len(pool) < len(result.pool):
            _err(
                f"kept {len(pool)} of {len(result.pool)} examples (at most {per_source} per source)"
            )
        write_pool(pool, output)
    sources = pool["source"].nunique()
    typer.echo(f"wrote {len(pool)} examples from {sources} source(s) to {output}")


@pool_app.command("stats")
def stats(pool: Annotated[Path, typer.Argument(help="A pool table from `pool build`.")]) -> None:
    """Examples per source and length percentiles of prompts and responses."""
    summary = pool_stats(read_pool(pool))
    console = Console()
    by_source = Table(title=f"{pool}: examples per source")
    for column in ("source", "examples", "share"):
        by_source.add_column(column, justify="left" if column == "source" else "right")
    for row in summary.sources.itertuples(index=False):
        by_source.add_row(row.source, str(row.examples), f"{row.share:.1%}")
    by_source.add_row("all", str(int(summary.sources["examples"].sum())), "100.0%", style="bold")
    console.print(by_source)
    lengths = Table(title="lengths (prompt = instruction + input; words split on whitespace)")
    lengths.add_column("measure")
    for column in summary.lengths.columns[1:]:
        lengths.add_column(column, justify="right")
    for row in summary.lengths.itertuples(index=False):
        lengths.add_row(row[0], *(f"{v:.0f}" for v in row[1:]))
    console.print(lengths)


@app.command("sample", renamed={"--indicators": "--indicators-file"})
def sample(
    pool: Annotated[Path, typer.Argument(help="A pool table from `pool build`.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Subsets table to write.")],
    subsets: Annotated[int, typer.Option(help="Number of subsets.")],
    size: Annotated[int, typer.Option(help="Examples per subset.")],
    seed: Annotated[int, typer.Option(help="Random seed: same seed, same subsets.")] = 0,
    alpha: Annotated[float, typer.Option(help="Dirichlet concentration.")] = DEFAULT_ALPHA,
    sources: Annotated[
        str | None, typer.Option(help="Comma-separated sources (default all).")
    ] = None,
    design: Annotated[
        str, typer.Option(help="dirichlet, spread, d-optimal or selections.")
    ] = "dirichlet",
    indicators: Annotated[
        Path | None,
        typer.Option(
            "--indicators-file",
            help="Indicators table (default: indicators.parquet beside the pool).",
        ),
    ] = None,
    columns: Annotated[
        str | None, typer.Option(help="Comma-separated design columns (default all numeric).")
    ] = None,
    temperature: Annotated[
        float,
        typer.Option(
            help="spread: noise beside the direction; lower is more extreme. selections: the "
            "largest noise of the noisy half (0: every selection a pure top --size)."
        ),
    ] = DEFAULT_TEMPERATURE,
    mix_sources: Annotated[
        bool, typer.Option(help="spread: lean along the direction within a Dirichlet mixture.")
    ] = False,
    candidates: Annotated[
        int | None, typer.Option(help="d-optimal: candidate subsets (default 10 per subset).")
    ] = None,
    random_share: Annotated[
        float,
        typer.Option(
            help="selections: share of plain random subsets (at least one).", show_default="1/6"
        ),
    ] = DEFAULT_RANDOM_SHARE,
    max_overlap: Annotated[
        float, typer.Option(help="selections: largest Jaccard overlap of two subsets.")
    ] = DEFAULT_MAX_OVERLAP,
) -> None:
    """Sample subsets: Dirichlet source mixtures, spread along indicator space, D-optimal, or
    selections (top --size under random weightings of the indicators, plus random subsets).

    Also writes `<output stem>_mixtures.parquet` with each subset's share per source and, in
    its metadata, the design's figures next to a Dirichlet design's.
    """
    indicators = indicators or Workspace(pool.parent).indicators
    refuse_overwrite([output, mixtures_beside(output)], [pool, indicators])
    table = read_pool(pool, required=["id", "source"])
    if not indicators.exists() and (design != "dirichlet" or columns):
        raise UserError(
            f"{indicators}: no such file (the {design} design needs indicators: --indicators-file)"
        )
    indicator_table = read_parquet(indicators, ["id"]) if indicators.exists() else None
    built, mixtures_path = design_stage(
        output,
        table,
        subsets,
        size,
        seed,
        design,
        indicator_table,
        split_names(columns),
        alpha,
        split_names(sources),
        temperature,
        mix_sources,
        candidates,
        random_share,
        max_overlap,
        lock=Workspace(output.parent).lock(target=output),
    )
    shares = built.mixtures.drop(columns="subset_id")
    summary = Table(title=f"{subsets} subsets of {size} ({design}, alpha {alpha}, seed {seed})")
    for column in ("source", "mean share", "min", "max", "subsets using it"):
        summary.add_column(column, justify="left" if column == "source" else "right")
    for name in shares.columns:
        column = shares[name]
        summary.add_row(
            name,
            f"{column.mean():.1%}",
            f"{column.min():.1%}",
            f"{column.max():.1%}",
            str(int((column > 0).sum())),
        )
    Console().print(summary)
    single = int((shares.max(axis=1) >= 0.9).sum())
    typer.echo(f"{single} of {subsets} subsets are at least 90% one source")
    print_figures(built.info, Console())
    typer.echo(f"wrote {output} and {mixtures_path}")


def split_names(text: str | None) -> list[str] | None:
    """Comma-separated names as a list (None when none are given)."""
    names = [s.strip() for s in (text or "").split(",") if s.strip()]
    return names or None
