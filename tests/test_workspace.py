"""Workspace: every file name in one place; files inside refer to each other relatively."""

from __future__ import annotations

import shutil
from pathlib import Path

from instructmining.experiments.config import preset, save_settings
from instructmining.selection.training import experiment_settings
from instructmining.workspace import FILES, Workspace, mixtures_beside, selection_beside


def test_every_named_path_is_listed_once() -> None:
    ws = Workspace(Path("ws"))
    names = [entry.name for entry in FILES.values()]
    assert len(names) == len(set(names))
    assert ws.pool == Path("ws") / FILES["pool"].name
    assert ws.mixtures == mixtures_beside(ws.subsets)
    assert ws.selection == selection_beside(ws.selected)
    assert ws.marker("fit").parent == ws.markers
    assert Workspace.of(ws) is ws and Workspace.of("ws") == ws


def test_settings_follow_a_moved_workspace(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "a")
    ws.root.mkdir()
    inside = ws.eval_set("eval")
    inside.write_text("{}")
    outside = tmp_path / "outside.jsonl"
    outside.write_text("{}")
    save_settings(ws, inside, preset("cpu-small"), [0], {"test": outside})

    moved = Workspace(tmp_path / "b")
    shutil.move(ws.root, moved.root)
    settings = experiment_settings(moved)
    assert settings.eval_file == moved.eval_set("eval")  # relative: follows the move
    assert settings.test_eval_file == outside  # outside the workspace: stays absolute


def test_docs_list_every_workspace_file() -> None:
    page = (Path(__file__).resolve().parents[1] / "docs" / "workspace.md").read_text()
    missing = [key for key, entry in FILES.items() if f"| `{entry.name}` |" not in page]
    assert missing == []
