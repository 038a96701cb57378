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


WORKSPACE_ARGUMENT = "WORKSPACE"  # a renamed option whose value is now the first argument


def deprecation_note(old: str, new: str) -> str:
    """The one line on stderr when an old spelling is used: it works for one more release."""
    now = "the first argument (WORKSPACE)" if new == WORKSPACE_ARGUMENT else new
    return f"note: {old} is deprecated and goes in the next release; use {now}"


def renew_spellings(args: list[str], renamed: dict[str, str]) -> tuple[list[str], list[str]]:
    """`args` with each old spelling in `renamed` replaced by its new one (an option renamed to
    WORKSPACE_ARGUMENT has its value moved to the front), and the notes to print."""
    renewed: list[str] = []
    front: list[str] = []
    notes: list[str] = []
    tokens = iter(args)
    for token in tokens:
        if token == "--":
            renewed += [token, *tokens]
            break
        old, eq, value = token.partition("=") if token.startswith("--") else (token, "", "")
        new = renamed.get(old)
        if new is None:
            renewed.append(token)
            continue
        notes.append(deprecation_note(old, new))
        if new != WORKSPACE_ARGUMENT:
            renewed.append(f"{new}={value}" if eq else new)
        else:
            front.append(value if eq else next(tokens, ""))
    return front + renewed, notes


class FlagNamingCommand(TyperCommand):
    """Library errors name Python parameters; while the command's context is still live (the
    printer in `main` sees the error after it closed) they are rewritten to its flags.

    `renamed` maps the command's old option spellings to the new ones: they keep working for
    one release, each with a one-line note on stderr, and are not shown in --help."""

    renamed: dict[str, str] = {}

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        args, notes = renew_spellings(args, self.renamed)
        for note in notes:
            typer.echo(note, err=True)
        return super().parse_args(ctx, args)

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except UserError as exc:
            exc.args = (name_flags(str(exc), self.params), *exc.args[1:])
            raise


class CommandLine(typer.Typer):
    """A Typer whose commands name their flags in errors (`FlagNamingCommand`) and take shared
    option blocks (cli/options.py); `renamed` lists a command's deprecated spellings."""

    def command(
        self,
        name: str | None = None,
        *,
        cls: Any = None,
        renamed: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> Any:
        cls = cls or FlagNamingCommand
        if renamed:
            cls = type(cls.__name__, (cls,), {"renamed": dict(renamed)})
        register = super().command(name, cls=cls, **kwargs)
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
