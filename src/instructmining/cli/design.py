"""`instructmining design WS --add M`: a thin layer over `sampling.add_subsets`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from instructmining.cli.app import app
from instructmining.cli.pool import split_names
from instructmining.sampling import add_subsets
from instructmining.sampling.show import print_figures
from instructmining.workspace import Workspace


@app.command("design")
def design(
    workspace: Annotated[Path, typer.Argument(help="Workspace (pool, indicators, subsets).")],
    add: Annotated[int, typer.Option("--add", help="Number of subsets to append.")],
    criterion: Annotated[
        str,
        typer.Option(help="d: most information on the rule; i: least prediction variance."),
    ] = "d",
    seed: Annotated[
        int | None, typer.Option(help="Seed of the fresh candidates (default: the design's).")
    ] = None,
    columns: Annotated[
        str | None, typer.Option(help="Comma-separated design columns (default: the design's).")
    ] = None,
    candidates: Annotated[
        int | None, typer.Option(help="Fresh candidate subsets (default 20 per added one).")
    ] = None,
) -> None:
    """Append the subsets that most improve the design so far, so `experiment` runs only them."""
    ws = Workspace(workspace)
    with ws.lock():
        added = add_subsets(ws.root, add, criterion, seed, split_names(columns), candidates)
    n_total = added.design.subsets["subset_id"].nunique()
    typer.echo(
        f"{n_total - len(added.new_ids)} subsets so far ({added.finished} with finished runs); "
        f"added {len(added.new_ids)}: {', '.join(added.new_ids)}"
    )
    print_figures(added.design.info, Console())
    typer.echo(f"wrote {ws.subsets}; `instructmining experiment` runs only the new subsets")
