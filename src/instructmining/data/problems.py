"""Bad input: stop at the first problem (`fail`) or skip the record and count it by kind (`skip`).

Every problem is tied to a file and a line so the message reads `FILE:LINE: problem`.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from instructmining.errors import InputError, UserError, param

ON_ERROR_CHOICES = ("fail", "skip")


class RecordProblem(Exception):
    """Raised by a format for one record; `kind` is the short name skip mode counts under."""

    def __init__(self, kind: str, message: str | None = None) -> None:
        self.kind = kind
        self.message = message or kind
        super().__init__(self.message)


class Problems:
    """Raises `InputError` on the first problem in fail mode; counts problems in skip mode."""

    def __init__(self, on_error: str = "fail", hint: str = "") -> None:
        if on_error not in ON_ERROR_CHOICES:
            raise UserError(f"{param('on_error')} must be 'fail' or 'skip', not {on_error!r}")
        self.on_error = on_error
        self.hint = hint  # appended to a fail-mode message: how to go on past such records
        self.counts: Counter[str] = Counter()

    def report(self, path: str | Path, line: int | None, kind: str, message: str | None = None):
        """Fail or count one problem at `path:line`."""
        if self.on_error == "fail":
            text = message or kind
            raise InputError(path, line, f"{text} ({self.hint})" if self.hint else text)
        self.counts[kind] += 1
