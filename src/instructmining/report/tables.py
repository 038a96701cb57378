"""Read whatever a workspace holds, never failing on a missing or broken table.

The report describes a workspace at any stage of the loop, so a missing table becomes a note
naming the command that makes it, and an unreadable one a note with the problem.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from instructmining.errors import UserError
from instructmining.report.html import esc, note
from instructmining.report.rule_view import RuleView, rule_view
from instructmining.storage import read_parquet
from instructmining.workspace import FILES, Workspace


@dataclass(frozen=True)
class TableSpec:
    key: str  # a workspace.FILES key: the file's name and the command that writes it
    required: tuple[str, ...]
    optional: bool = False  # read when present; its absence is no stage left to run

    @property
    def file(self) -> str:
        return FILES[self.key].name

    @property
    def command(self) -> str:
        return FILES[self.key].written_by


# The tables the report reads, with the columns each must have.
TABLES: dict[str, TableSpec] = {
    "pool": TableSpec("pool", ("id", "source")),
    "indicators": TableSpec("indicators", ("id",)),
    "subsets": TableSpec("subsets", ("subset_id", "id")),
    "subset_indicators": TableSpec("subset_indicators", ("subset_id",), optional=True),
    "runs": TableSpec("runs", ("subset_id", "eval_loss")),
    "rule": TableSpec("rule", ()),
    "search": TableSpec("search", ("trial", "n", "eval_loss")),
    "compare": TableSpec("compare", ("selector", "seed", "n", "eval_loss")),
    "compare_runs": TableSpec("compare_runs", ("subset_id", "seed"), optional=True),
    "selection": TableSpec("selection", ("id", "score", "rank")),
}


@dataclass
class ReportInputs:
    """The workspace's tables that could be read, and why the others could not."""

    root: Path
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    rule: RuleView | None = None
    problems: dict[str, str] = field(default_factory=dict)

    def has(self, name: str) -> bool:
        return self.rule is not None if name == "rule" else name in self.tables

    def missing(self, *names: str) -> str:
        """HTML notes for the named tables that are absent (empty string when all are there)."""
        return "".join(self.note_for(n) for n in names if not self.has(n))

    def note_for(self, name: str) -> str:
        spec = TABLES[name]
        if name in self.problems:
            return note(f"{esc(spec.file)} could not be read: {esc(self.problems[name])}", True)
        return note(f"{esc(spec.file)}: not computed yet: run <code>{esc(spec.command)}</code>")


def load_inputs(workspace: Workspace | Path) -> ReportInputs:
    """Read every known table present in the workspace."""
    ws = Workspace.of(workspace)
    inputs = ReportInputs(root=ws.root)
    for name, spec in TABLES.items():
        path = ws.path(spec.key)
        if not path.exists():
            continue
        try:
            if name == "rule":
                inputs.rule = rule_view(_read_json(path))
            else:
                table = read_parquet(path, required=spec.required)
                for key in ("id", "subset_id", "selector"):  # joined and compared as text
                    if key in table:
                        table[key] = table[key].astype(str)
                if name == "compare" and "eval_set" in table:
                    table = wide_compare(table)
                inputs.tables[name] = table
        except UserError as exc:
            inputs.problems[name] = str(exc)
    return inputs


def wide_compare(runs: pd.DataFrame) -> pd.DataFrame:
    """compare.parquet holds one row per (selector, seed, eval set); the sections read one row
    per fine-tune: eval_loss on the fit set and test_loss__<set> on every other set."""
    keys = ["selector", "seed", "n", "subset_id"]
    wide = runs.pivot_table("eval_loss", keys, "eval_set", aggfunc="first", dropna=False)
    wide = wide.rename(columns=lambda s: "eval_loss" if s == "fit" else f"test_loss__{s}")
    return wide.reset_index().rename_axis(columns=None)


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UserError(f"{path}: not readable JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise UserError(f"{path}: expected a JSON object")
    return data
