"""Command line: a thin layer over the Python API; each stage's commands live in their own module.

`main` turns a `UserError` into one line on stderr and exit code 2, so bad input never shows a
traceback.
"""

from __future__ import annotations

import sys

import typer
from click.exceptions import ClickException, Exit
from click.exceptions import Abort as ClickAbort

from instructmining.cli import pool  # noqa: F401  (each import registers its commands)
from instructmining.cli.app import app
from instructmining.errors import UserError


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit code (used by the console script and the tests)."""
    try:
        app(args=argv, standalone_mode=False)
    except UserError as exc:
        typer.echo(f"error: {exc}", err=True)
        return exc.exit_code
    except ClickException as exc:
        exc.show()
        return 2
    except Exit as exc:
        return exc.exit_code
    except (KeyboardInterrupt, ClickAbort):
        typer.echo("interrupted", err=True)
        return 130
    return 0


def run() -> None:
    sys.exit(main())
