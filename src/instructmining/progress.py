"""One look for every progress bar: done/total, rate, elapsed and ETA, drawn on stderr.

Tasks may carry a `status` field (for example the current training loss) shown at the end.
Lines handed to `say_when_work_starts` (the thread budget) print just before the first bar:
when the work starts, after the inputs were read, so bad input still gets a one-line error.
Outside a terminal (a file, a CI log) a bar would show nothing until its stage ends, so a plain
line per task is printed instead, at most every `interval` seconds while it advances and when it
finishes. `configure_output` (the CLI's --verbose, --quiet, --log-file) silences third-party
bars and load reports, or everything but results and errors, and copies lines to a log file.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

# Outside a terminal, long lines stay whole (a log is read with search, not at 80 columns).
console = Console(stderr=True, soft_wrap=not sys.stderr.isatty())
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


@dataclass
class OutputSettings:
    """How chatty a run is; set once by the CLI from --verbose, --quiet and --log-file."""

    verbose: bool = False
    quiet: bool = False
    log_file: Path | None = None
    interval: float = float(os.environ.get("INSTRUCTMINING_PROGRESS_INTERVAL", "15"))


OUTPUT = OutputSettings()


def configure_output(
    verbose: bool = False, quiet: bool = False, log_file: Path | None = None
) -> None:
    """Apply the CLI's output settings; third-party bars and load reports stay off unless
    `verbose` (they would interleave with ours and fill a log with carriage returns)."""
    OUTPUT.verbose, OUTPUT.quiet, OUTPUT.log_file = verbose, quiet, log_file
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
    quiet_third_party()


def quiet_third_party() -> None:
    """The one switch for other libraries' output: their bars and load reports off unless the
    output settings are verbose (--verbose, or `configure_output(verbose=True)` in Python).

    Commands apply it through `configure_output`; the model loaders apply it before every load,
    so the Python API, which never calls `configure_output`, is as quiet as a command. Call it
    before any other work that reaches transformers, huggingface_hub or datasets."""
    silence_third_party(not OUTPUT.verbose)


def silence_third_party(silent: bool = True) -> None:
    """transformers', huggingface_hub's and datasets' own bars and load reports off (or on)."""
    os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1" if silent else "0"
    os.environ["TRANSFORMERS_VERBOSITY"] = "error" if silent else "warning"
    import importlib

    for name in ("transformers", "huggingface_hub", "datasets"):
        try:
            module = importlib.import_module(f"{name}.utils")
        except ImportError:
            continue
        logging = getattr(module, "logging", None)
        if silent:
            _call(module, ("disable_progress_bars", "disable_progress_bar"))
            _call(logging, ("disable_progress_bar",))
            _call(logging, ("set_verbosity_error",))
        else:
            _call(module, ("enable_progress_bars", "enable_progress_bar"))
            _call(logging, ("enable_progress_bar",))
            _call(logging, ("set_verbosity_warning",))


def _call(owner: Any, names: tuple[str, ...]) -> None:
    for name in names:
        fn = getattr(owner, name, None) if owner is not None else None
        if callable(fn):
            fn()
            return


def log_line(text: str) -> None:
    """Append one line to the --log-file, if any, with a timestamp."""
    if OUTPUT.log_file is None:
        return
    stamp = dt.datetime.now().strftime("%Y-%m-%d %H:%M:%S")
    with open(OUTPUT.log_file, "a", encoding="utf-8") as fh:
        fh.write(f"{stamp} {text}\n")


class _RateColumn(ProgressColumn):
    """Items per second with the task's `unit` field, else the unit given to `progress_bar`."""

    def __init__(self, unit: str) -> None:
        super().__init__()
        self.unit = unit

    def render(self, task: Task) -> Text:
        speed = _speed(task)
        unit = task.fields.get("unit") or self.unit
        return Text("-" if speed is None else f"{speed:.1f} {unit}/s")


def _speed(task: Task) -> float | None:
    """Items per second: rich's recent-window estimate, else the mean since the task started
    (items slower than rich's 30 s window, such as fine-tunes, would otherwise show none)."""
    speed = task.finished_speed or task.speed
    if speed is None and task.completed and task.elapsed:
        speed = task.completed / task.elapsed
    return speed


def _eta(task: Task, speed: float | None) -> float | None:
    if task.finished:
        return 0
    if task.time_remaining is not None or not (speed and task.total):
        return task.time_remaining
    return (task.total - task.completed) / speed


def _clock(seconds: float | None) -> str:
    return "-" if seconds is None else str(dt.timedelta(seconds=int(seconds)))


def progress_line(task: Task, unit: str) -> str:
    """`NAME: DONE/TOTAL UNIT (P%), RATE UNIT/s, elapsed H:MM:SS, eta H:MM:SS STATUS`; the
    task's own `unit` field, where it has one, names what it counts (steps inside runs)."""
    unit = task.fields.get("unit") or unit
    total = f"/{int(task.total)}" if task.total else ""
    share = f" ({task.completed / task.total:.0%})" if task.total else ""
    speed = _speed(task)
    rate = "-" if speed is None else f"{speed:.2f}"
    status = task.fields.get("status") or ""
    eta = _eta(task, speed)
    return (
        f"{task.description}: {int(task.completed)}{total} {unit}{share}, {rate} {unit}/s, "
        f"elapsed {_clock(task.elapsed)}, eta {_clock(eta)}" + (f" ({status})" if status else "")
    ).strip()


class PlainProgress(_Progress):
    """A Progress that draws nothing and prints a plain line per task at a bounded interval:
    for logs and pipes, and the --log-file. `echo` says whether lines go to stderr too."""

    def __init__(self, unit: str, echo: bool) -> None:
        super().__init__(disable=True)
        self.unit = unit
        self.echo = echo
        self._last: dict[TaskID, float] = {}

    def add_task(self, description: str, *args: Any, **kwargs: Any) -> TaskID:
        task_id = super().add_task(description, *args, **kwargs)
        if description and kwargs.get("visible", True):
            self._emit(task_id, force=True)
        return task_id

    def advance(self, task_id: TaskID, advance: float = 1) -> None:
        super().advance(task_id, advance)
        self._emit(task_id)

    def update(self, task_id: TaskID, *args: Any, **kwargs: Any) -> None:
        super().update(task_id, *args, **kwargs)
        self._emit(task_id)

    def _emit(self, task_id: TaskID, force: bool = False) -> None:
        with self._lock:
            task = self._tasks[task_id]
        if not task.description or not task.visible:
            return
        now = time.monotonic()
        last = self._last.get(task_id)
        done = task.finished and last != -1.0
        if not (force or done or last is None or now - last >= OUTPUT.interval):
            return
        self._last[task_id] = -1.0 if task.finished else now
        line = progress_line(task, self.unit)
        if self.echo:
            print(line, file=sys.stderr, flush=True)
        log_line(line)


def progress_bar(unit: str = "it", transient: bool = False) -> Progress:
    """A rich Progress in a terminal, plain lines elsewhere, silence with --quiet (a --log-file
    still gets the lines); add tasks with `status=""` to show a per-task status text."""
    if OUTPUT.quiet or not console.is_terminal or OUTPUT.log_file is not None:
        return PlainProgress(unit, echo=not OUTPUT.quiet and not console.is_terminal)
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
