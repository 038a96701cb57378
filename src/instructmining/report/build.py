"""Build the report page from a workspace folder."""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

from instructmining.errors import UserError
from instructmining.report.html import page
from instructmining.report.sections import SECTIONS
from instructmining.report.tables import load_inputs
from instructmining.storage import atomic_open
from instructmining.workspace import Workspace


def render_report(workspace: Workspace | Path) -> str:
    """The report's HTML for `workspace`: every section, with a note where a table is missing."""
    ws = Workspace.of(workspace)
    if not ws.root.is_dir():
        raise UserError(f"{ws.root}: no such workspace folder")
    inputs = load_inputs(ws)
    sections = [(s.id, s.title, s.render(inputs)) for s in SECTIONS]
    return page("InstructMining report", f"workspace {ws.root.resolve().name}", sections)


def build_report(
    workspace: Workspace | Path, output: Path, lock: AbstractContextManager[Any] | None = None
) -> Path:
    """Write one self-contained HTML report of `workspace` to `output` (atomically).

    `lock` (entered only around the writing) is the output folder's lock for a caller that does
    not hold one already (`instructmining report`): the report is rendered from the workspace
    first, so a missing workspace fails before anything is written."""
    text = render_report(workspace)
    with lock if lock is not None else nullcontext():
        return write_report(text, output)


def write_report(text: str, output: Path) -> Path:
    """Write rendered report HTML atomically (the caller holds the lock of its folder)."""
    with atomic_open(output) as fh:
        fh.write(text)
    return Path(output)
