"""The typer application that every stage's command module registers on."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from instructmining import __version__

app = typer.Typer(
    name="instructmining",
    help="Select instruction data by a quality rule fitted to measured fine-tuning outcomes.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"instructmining {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
    verbose: bool = typer.Option(
        False, "--verbose", help="Also show transformers' and datasets' own bars and load reports."
    ),
    quiet: bool = typer.Option(False, "--quiet", help="No progress output; results and errors."),
    log_file: Annotated[
        Path | None,
        typer.Option(help="Append timestamped progress lines and errors to this file."),
    ] = None,
) -> None:
    """Select instruction data by a quality rule fitted to measured fine-tuning outcomes.

    Outside a terminal, progress is a plain line per stage at most every 15 s
    ($INSTRUCTMINING_PROGRESS_INTERVAL)."""
    from instructmining.progress import configure_output

    configure_output(verbose=verbose, quiet=quiet, log_file=log_file)
