"""Errors a user can act on.

Every stage raises `UserError` for bad input, unloadable models or invalid settings; the CLI
prints its message as a single line and exits with code 2. Anything else is a bug and keeps
its traceback. A message names a setting by its Python parameter (`param`); the CLI shows the
command's flag in its place.
"""

from __future__ import annotations

from pathlib import Path


def param(name: str) -> str:
    """A parameter as an error message names it, in backticks: a Python or YAML user reads the
    name they passed, and the CLI rewrites it to the flag of the command being run."""
    return f"`{name}`"


class UserError(Exception):
    """A problem with the user's input or environment, reported as one line, exit code 2."""

    exit_code = 2


class InputError(UserError):
    """A problem at a place in an input file: rendered as `FILE:LINE: problem`."""

    def __init__(self, path: str | Path, line: int | None, problem: str) -> None:
        self.path = str(path)
        self.line = line
        self.problem = problem
        where = f"{self.path}:{line}" if line is not None else self.path
        super().__init__(f"{where}: {problem}")


class ModelLoadError(UserError):
    """A model that cannot be loaded, named with the reason."""

    def __init__(self, model: str, reason: str) -> None:
        self.model = model
        super().__init__(f"cannot load model {model!r}: {reason}")
