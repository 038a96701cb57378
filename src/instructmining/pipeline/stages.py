"""Completion markers: a stage is skipped when its settings and inputs hash as they did when it
finished and its outputs are still the files it wrote.

Like datatrove's `completions/`, a marker is written only after a stage's outputs are saved, so a
kill at any point leaves either no marker (the stage reruns, reusing its caches) or a complete one.
The marker also records each output's hash: a table replaced by hand or by another command makes
its stage run again instead of reporting "up to date" over a file it did not write.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from instructmining.hashing import hash_file
from instructmining.progress import console
from instructmining.storage import write_json
from instructmining.workspace import Workspace


def marker_path(workspace: Path, stage: str) -> Path:
    return Workspace(workspace).marker(stage)


def _hashes(workspace: Path, outputs: list[Path]) -> dict[str, str | None]:
    ws = Workspace(workspace)
    return {ws.relative(p): hash_file(p) if p.is_file() else None for p in outputs}


def is_done(workspace: Path, stage: str, inputs_hash: str, outputs: list[Path]) -> bool:
    """True when the stage finished with these inputs and its outputs are unchanged since."""
    path = marker_path(workspace, stage)
    if not path.exists() or not all(p.exists() for p in outputs):
        return False
    try:
        marker = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return marker.get("inputs") == inputs_hash and marker.get("outputs") == _hashes(
        workspace, outputs
    )


def mark_done(
    workspace: Path, stage: str, inputs_hash: str, outputs: list[Path], **details: Any
) -> None:
    """Record that `stage` finished: its inputs hash and the hash of every output it wrote."""
    record = {"stage": stage, "inputs": inputs_hash, "outputs": _hashes(workspace, outputs)}
    write_json({**record, **details}, marker_path(workspace, stage))


def run_stage(
    workspace: Path,
    stage: str,
    inputs_hash: str,
    outputs: list[Path],
    step: Callable[[], dict[str, Any] | None],
) -> bool:
    """The one skip-or-run wrapper: skip a finished stage, else run `step` and mark it done
    with the details it returns. True when the step ran. The caller holds the workspace lock."""
    if is_done(workspace, stage, inputs_hash, outputs):
        console.print(f"up to date: {', '.join(p.name for p in outputs)}")
        return False
    details = step() or {}
    mark_done(workspace, stage, inputs_hash, outputs, **details)
    return True


def refresh_outputs(workspace: Path, stage: str, outputs: list[Path]) -> None:
    """Keep a finished stage done over outputs a later stage of the same loop extended on
    purpose (`refine` appends its subsets to the subsets stage's table): its marker takes the
    outputs' new hashes, so a rerun does not resample them away."""
    path = marker_path(workspace, stage)
    if not path.exists():
        return
    try:
        marker = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    write_json({**marker, "outputs": _hashes(workspace, outputs)}, path)
