"""Completion markers hash a stage's outputs too: a table replaced by hand is not 'up to date'."""

from __future__ import annotations

import json

from instructmining.pipeline.stages import is_done, mark_done
from instructmining.workspace import Workspace


def test_a_replaced_output_makes_its_stage_run_again(tmp_path) -> None:
    ws = Workspace(tmp_path)
    ws.rule.write_text('{"name": "rule"}')
    mark_done(ws.root, "fit", "inputs-1", [ws.rule])
    assert is_done(ws.root, "fit", "inputs-1", [ws.rule])
    assert not is_done(ws.root, "fit", "inputs-2", [ws.rule])  # changed inputs
    ws.rule.write_text('{"name": "by hand"}')
    assert not is_done(ws.root, "fit", "inputs-1", [ws.rule])  # changed output
    marker = json.loads(ws.marker("fit").read_text())
    assert list(marker["outputs"]) == [ws.rule.name]  # relative: the marker travels with the folder
    ws.rule.unlink()
    assert not is_done(ws.root, "fit", "inputs-1", [ws.rule])
