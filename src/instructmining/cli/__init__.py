"""Command line: a thin layer over the Python API; each stage's commands live in their own module.

`main` turns a `UserError` into one line on stderr and exit code 2, so bad input never shows a
traceback.
"""

from __future__ import annotations

import sys

import typer

from instructmining.cli import (
    design,  # noqa: F401
    experiment,  # noqa: F401
    indicators,  # noqa: F401
    overlap,  # noqa: F401
    pool,  # noqa: F401  (each import registers its commands)
    refine,  # noqa: F401
    report,  # noqa: F401
    rule,  # noqa: F401
    run,  # noqa: F401
    runs,  # noqa: F401
    select,  # noqa: F401
)
from instructmining.cli.app import app
from instructmining.errors import UserError
from instructmining.progress import drop_pending, flush_pending, log_line

try:  # typer >= 0.20 vendors click; older typer raises click's own exceptions
    from typer._click.exceptions import ClickException, NoArgsIsHelpError, UsageError
except ImportError:  # pragma: no cover - depends on the installed typer
    from click.exceptions import ClickException, NoArgsIsHelpError, UsageError


def _one_line(text: str) -> str:
    """Messages quote the user's data: escape its control characters to keep one line."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit code (used by the console script and the tests)."""
    try:
        app(args=argv, standalone_mode=False)
        flush_pending()
    except UserError as exc:
        typer.echo(f"error: {_one_line(str(exc))}", err=True)
        log_line(f"error: {_one_line(str(exc))}")
        return exc.exit_code
    except NoArgsIsHelpError as exc:
        exc.show()
        return 2
    except UsageError as exc:
        hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
        typer.echo(f"error: {_one_line(exc.format_message())}{hint}", err=True)
        return 2
    except ClickException as exc:
        typer.echo(f"error: {_one_line(exc.format_message())}", err=True)
        return 2
    except typer.Exit as exc:
        return exc.exit_code
    except (KeyboardInterrupt, typer.Abort):
        typer.echo("interrupted", err=True)
        return 130
    finally:
        drop_pending()  # an error before the work started: its one line says it all
    return 0


def entrypoint() -> None:
    sys.exit(main())
