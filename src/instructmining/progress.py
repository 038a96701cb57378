"""One look for every progress bar: done/total, rate, elapsed and ETA, drawn on stderr.

Tasks may carry a `status` field (for example the current training loss) shown at the end.
Lines handed to `say_when_work_starts` (the thread budget) print just before the first bar:
when the work starts, after the inputs were read, so bad input still gets a one-line error.
"""

from __future__ import annotations

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

console = Console(stderr=True)
_pending: list[str] = []


def say_when_work_starts(line: str) -> None:
    """Print `line` on stderr before the next progress bar starts (or at `flush_pending`)."""
    _pending.append(line)


def flush_pending() -> None:
    """Print the lines still waiting (a command that ended without a bar)."""
    while _pending:
        console.print(_pending.pop(0), highlight=False, soft_wrap=True)


def drop_pending() -> None:
    """Forget the waiting lines: the command failed before its work started."""
    _pending.clear()


class _Progress(Progress):
    def start(self) -> None:
        flush_pending()
        super().start()


class _RateColumn(ProgressColumn):
    """Items per second with the unit given to `progress_bar`."""

    def __init__(self, unit: str) -> None:
        super().__init__()
        self.unit = unit

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("-" if speed is None else f"{speed:.1f} {self.unit}/s")


def progress_bar(unit: str = "it", transient: bool = False) -> Progress:
    """A rich Progress; add tasks with `status=""` to show a per-task status text."""
    return _Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        _RateColumn(unit),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        TextColumn("{task.fields[status]}"),
        console=console,
        transient=transient,
    )
