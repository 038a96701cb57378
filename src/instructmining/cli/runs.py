"""`instructmining runs import WS FILE`: fine-tuning results made with another trainer."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from instructmining.cli.app import WORKSPACE_ARGUMENT, CommandLine, app, deprecation_note

runs_app = CommandLine(help="Runs made elsewhere.", no_args_is_help=True)
app.add_typer(runs_app, name="runs")


@runs_app.command("import", renamed={"-w": WORKSPACE_ARGUMENT, "--workspace": WORKSPACE_ARGUMENT})
def import_(
    workspace: Annotated[Path, typer.Argument(help="Workspace with subsets.parquet.")],
    file: Annotated[
        Path | None,
        typer.Argument(
            help="CSV, JSON, JSON Lines or Parquet of runs (required; left out only by the "
            "deprecated `runs import FILE`, which imports into the current folder)."
        ),
    ] = None,
) -> None:
    """Check runs (subset_id, eval_loss, optional seed...) against WS/subsets.parquet and store
    them as WS/runs.parquet for `fit`."""
    from instructmining.errors import UserError
    from instructmining.experiments.imported import import_runs
    from instructmining.workspace import Workspace

    if file is None:  # the old `runs import FILE`, into the current folder
        if workspace.is_dir():
            raise UserError(f"give the runs FILE after the workspace {workspace}")
        typer.echo(deprecation_note("runs import FILE", "runs import WS FILE"), err=True)
        workspace, file = Path("."), workspace
    runs = import_runs(file, workspace)
    typer.echo(
        f"wrote {len(runs)} run(s) of {runs['subset_id'].nunique()} subset(s) to "
        f"{Workspace(workspace).runs}"
    )
