"""`instructmining report WS/ -o WS/report.html`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from instructmining.cli.app import app


@app.command("report")
def report(
    workspace: Annotated[Path, typer.Argument(help="Workspace folder holding the stages' tables.")],
    output: Annotated[
        Path | None,
        typer.Option("-o", "--output", help="HTML file to write [default: WS/report.html]."),
    ] = None,
) -> None:
    """Write one self-contained HTML page (plots and tables) of what the workspace holds."""
    from instructmining.paths import refuse_overwrite, workspace_tables
    from instructmining.report.build import build_report  # loads matplotlib
    from instructmining.workspace import Workspace

    output = output or Workspace(workspace).report
    refuse_overwrite([output], workspace_tables(workspace))
    # Rendered before the lock is taken: a missing workspace fails before any write.
    path = build_report(workspace, output, lock=Workspace(output.parent).lock(target=output))
    typer.echo(f"wrote {path}")
