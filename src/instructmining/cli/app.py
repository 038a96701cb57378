"""The typer application that every stage's command module registers on."""

from __future__ import annotations

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
) -> None:
    """Select instruction data by a quality rule fitted to measured fine-tuning outcomes."""
