"""Completion markers: a stage whose outputs exist and whose inputs hash matches is skipped.

Like datatrove's `completions/`, a marker is written only after a stage's outputs are saved, so a
kill at any point leaves either no marker (the stage reruns, reusing its caches) or a complete one.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from instructmining.storage import write_json
from instructmining.workspace import Workspace


def marker_path(workspace: Path, stage: str) -> Path:
    return Workspace(workspace).marker(stage)


def is_done(workspace: Path, stage: str, inputs_hash: str, outputs: list[Path]) -> bool:
    """True when the stage finished with these inputs and all its outputs are still there."""
    path = marker_path(workspace, stage)
    if not path.exists() or not all(p.exists() for p in outputs):
        return False
    try:
        return json.loads(path.read_text(encoding="utf-8")).get("inputs") == inputs_hash
    except (OSError, ValueError):
        return False


def mark_done(workspace: Path, stage: str, inputs_hash: str, **details: Any) -> None:
    write_json({"stage": stage, "inputs": inputs_hash, **details}, marker_path(workspace, stage))
