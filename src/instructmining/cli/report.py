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
    from instructmining.report.build import render_report, write_report  # loads matplotlib
    from instructmining.workspace import Workspace

    output = output or Workspace(workspace).report
    refuse_overwrite([output], workspace_tables(workspace))
    text = render_report(workspace)  # reads only: a missing workspace fails before any write
    with Workspace(output.parent).lock(target=output):
        path = write_report(text, output)
    typer.echo(f"wrote {path}")
