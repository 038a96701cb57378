"""The loop is one declaration: each stage once, in order, naming workspace files and sections."""

from __future__ import annotations

from instructmining.pipeline.config import RunConfig
from instructmining.pipeline.run import STAGES, Pipeline
from instructmining.workspace import FILES


def test_each_stage_is_declared_once_with_workspace_files_and_its_settings() -> None:
    methods = [stage.method for stage in STAGES]
    assert len(set(methods)) == len(methods)
    assert methods[:2] == ["eval_sets", "pool"]  # the pool is checked against the eval sets
    assert all(callable(getattr(Pipeline, method)) for method in methods)
    for stage in STAGES:
        assert set(stage.inputs) | set(stage.outputs) <= set(FILES), stage
        if stage.outputs:  # skipped by marker: its config section enters the marker's key
            assert stage.method in RunConfig.model_fields, stage
