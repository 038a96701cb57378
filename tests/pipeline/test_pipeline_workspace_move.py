"""A workspace moved to another folder resumes and reports: its files refer to each other by
relative path, so nothing reads the original's files or retrains."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import yaml

from instructmining.workspace import FILES, Workspace

DATA = Path(__file__).resolve().parents[1] / "data"


def tiny_config(path: Path, model: Path) -> Path:
    """Every stage but search, on a tiny model: length indicators need no model."""
    config = {
        "pool": {
            "files": [
                {"path": str(DATA / "dolly/alpagasus_dolly_3k_sample.json"), "source": "dolly"},
                {"path": str(DATA / "alpaca/alpaca_5000_sample.json"), "source": "alpaca"},
            ],
            "per_source": 10,
        },
        "indicators": {"names": ["length"], "lm": str(model)},
        "sampling": {"subsets": 5, "size": 4},
        "experiments": {
            "eval": {
                "path": str(DATA / "self_instruct/user_oriented_instructions_sample.jsonl"),
                "limit": 3,
            },
            "overrides": {
                "base_model": str(model),
                "epochs": 1,
                "max_length": 48,
                "lr": 5e-3,
                "batch_size": 2,
                "schedule": "constant",
                "warmup": 0.0,
            },
            "noise_subsets": 1,
            "noise_seeds": [1],
        },
        "fit": {"max_indicators": 1, "folds": 3},
        "refine": {"rounds": 1, "n": 4},
        "select": {"top": 6},
        "compare": {"n": 4, "seeds": 2},
    }
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def records(root: Path) -> dict[str, int]:
    """Run records and the rule, with their modification times (a rewrite would change them)."""
    ws = Workspace(root)
    found = sorted(root.rglob("*.seed*.json")) + [ws.rule]
    return {str(p.relative_to(root)): p.stat().st_mtime_ns for p in found}


def test_moved_workspace_resumes_and_reports(tmp_path, tiny_model, cli):
    config = tiny_config(tmp_path / "run.yaml", tiny_model)
    first = Workspace(tmp_path / "here")
    code, _, err = cli("run", config, "-o", first.root)
    assert code == 0, err
    assert len(pd.read_parquet(first.refine)) == 1  # one refine round, kept on every rerun
    saved = json.loads(first.experiment.read_text())
    assert saved["eval_file"] == FILES["eval"].name  # relative: the copy inside the workspace
    done = records(first.root)

    moved = Workspace(tmp_path / "elsewhere" / "ws")
    shutil.move(first.root, moved.root)
    first.report.parent.mkdir()  # an empty folder where the original was: nothing to read there
    moved.report.unlink()

    code, out, err = cli("run", config, "-o", moved.root)
    assert code == 0, err
    assert records(moved.root) == done  # no run retrained, no record rewritten
    assert "refine1" in set(pd.read_parquet(moved.subsets)["subset_id"])
    assert json.loads(moved.experiment.read_text()) == saved
    assert "up to date" in err + out
    assert moved.report.is_file()
    assert not any(first.root.iterdir())

    code, _, err = cli("report", moved.root)
    assert code == 0, err
    assert str(first.root) not in moved.report.read_text()

    # A rule replaced by hand: the fit stage runs again instead of reporting "up to date".
    moved.rule.write_text(moved.rule.read_text().replace('"name": "rule"', '"name": "by hand"'))
    code, out, err = cli("run", config, "-o", moved.root)
    assert code == 0, err
    assert f"up to date: {FILES['rule'].name}" not in err + out
    assert json.loads(moved.rule.read_text())["name"] == "rule"
    retrained = {k for k, v in records(moved.root).items() if done[k] != v}
    assert retrained == {FILES["rule"].name}  # the rule only: no fine-tune ran again
