"""Build the report page from a workspace folder."""

from __future__ import annotations

from pathlib import Path

from instructmining.errors import UserError
from instructmining.report.html import page
from instructmining.report.sections import SECTIONS
from instructmining.report.tables import load_inputs
from instructmining.storage import atomic_open


def render_report(workspace: Path) -> str:
    """The report's HTML for `workspace`: every section, with a note where a table is missing."""
    workspace = Path(workspace)
    if not workspace.is_dir():
        raise UserError(f"{workspace}: no such workspace folder")
    inputs = load_inputs(workspace)
    sections = [(s.id, s.title, s.render(inputs)) for s in SECTIONS]
    return page("InstructMining report", f"workspace {workspace.resolve().name}", sections)


def build_report(workspace: Path, output: Path) -> Path:
    """Write one self-contained HTML report of `workspace` to `output` (atomically)."""
    text = render_report(workspace)
    with atomic_open(output) as fh:
        fh.write(text)
    return Path(output)
