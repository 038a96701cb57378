"""The typer application that every stage's command module registers on."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperCommand

from instructmining import __version__
from instructmining.cli.options import expand_blocks
from instructmining.errors import UserError

_PARAMETER = re.compile(r"`([A-Za-z_]\w*)`")


def name_flags(message: str, params: Iterable[Any]) -> str:
    """`message` with each backticked parameter of the command (`max_indicators`) shown as
    its long flag (--max-indicators); other names stay as the library wrote them."""
    flags = {
        p.name: next((o for o in p.opts if o.startswith("--")), p.opts[0])
        for p in params
        if p.param_type_name == "option"
    }
    return _PARAMETER.sub(lambda m: flags.get(m[1], m[0]), message)


class FlagNamingCommand(TyperCommand):
    """Library errors name Python parameters; while the command's context is still live (the
    printer in `main` sees the error after it closed) they are rewritten to its flags."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except UserError as exc:
            exc.args = (name_flags(str(exc), self.params), *exc.args[1:])
            raise


class CommandLine(typer.Typer):
    """A Typer whose commands name their flags in errors (`FlagNamingCommand`) and take shared
    option blocks (cli/options.py)."""

    def command(self, name: str | None = None, *, cls: Any = None, **kwargs: Any) -> Any:
        register = super().command(name, cls=cls or FlagNamingCommand, **kwargs)
        return lambda command: register(expand_blocks(command))


app = CommandLine(
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
