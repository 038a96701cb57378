"""`instructmining runs import FILE`: fine-tuning results made with another trainer."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from instructmining.cli.app import CommandLine, app

runs_app = CommandLine(help="Runs made elsewhere.", no_args_is_help=True)
app.add_typer(runs_app, name="runs")


@runs_app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(help="CSV, JSON, JSON Lines or Parquet of runs.")],
    workspace: Annotated[
        Path, typer.Option("-w", "--workspace", help="Workspace with subsets.parquet.")
    ] = Path("."),
) -> None:
    """Check runs (subset_id, eval_loss, optional seed...) against WS/subsets.parquet and store
    them as WS/runs.parquet for `fit`."""
    from instructmining.experiments.imported import import_runs
    from instructmining.workspace import Workspace

    runs = import_runs(file, workspace)
    typer.echo(
        f"wrote {len(runs)} run(s) of {runs['subset_id'].nunique()} subset(s) to "
        f"{Workspace(workspace).runs}"
    )
