"""The `run` pipeline's fit target: the test set's name, the agreement printed after the
experiments, `fit.target: auto` and the closing message that names the target."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from eval_sets_workspace import write_sets_workspace

import instructmining.experiments as experiments
import instructmining.experiments.stage as stage_module
from instructmining.pipeline.config import RunConfig
from instructmining.pipeline.run import Pipeline, PipelineResult
from instructmining.pipeline.summary import final_message
from instructmining.progress import console


def _pipeline(ws: Path, fit: dict) -> Pipeline:
    config = RunConfig.model_validate(
        {
            "workspace": str(ws),
            "pool": {"files": [{"path": "unused.jsonl"}]},
            "experiments": {
                "eval": {"path": "eval.jsonl"},
                "test_eval": {"path": "mt.jsonl", "name": "opposed"},
            },
            "fit": {"max_indicators": 2, **fit},
        }
    )
    return Pipeline(config, ws)


@pytest.fixture
def ws(tmp_path, monkeypatch):
    # The synthetic runs carry config hash cfg1; no model is hashed or trained here.
    monkeypatch.setattr(experiments, "config_hash", lambda config: "cfg1")
    return write_sets_workspace(tmp_path / "ws", n_subsets=16)


def test_experiments_stage_records_the_named_test_set_and_prints_agreement(ws, monkeypatch):
    seen = {}

    def run_experiments(root, eval_file, config, test_evals=None, **kwargs):
        seen["tests"] = test_evals
        return pd.read_parquet(ws / "runs.parquet")

    monkeypatch.setattr(stage_module, "run_experiments", run_experiments)
    monkeypatch.setattr(stage_module, "save_settings", lambda *args: None)
    pipeline = _pipeline(ws, {})
    pipeline.eval_path, pipeline.test_path = ws / "eval.parquet", ws / "test_eval.parquet"
    with console.capture() as captured:
        pipeline.experiments()
    assert seen["tests"] == {"opposed": ws / "test_eval.parquet"}
    text = captured.get()
    assert "Agreement between evaluation sets" in text
    assert '"Good data" differs between fit and opposed' in text


def test_fit_stage_auto_target_and_closing_message(ws):
    with console.capture() as captured:
        _pipeline(ws, {"target": "auto"}).fit()
    text = captured.get()
    assert "target: mean of standardised log losses: fit 0.333, alike 0.333, opposed 0.333" in text
    assert "(auto: the sets disagree" in text and "Transfer:" in text
    message = final_message(PipelineResult(ws, ws / "rule.json", None, None), 60.0)
    assert "fitted rule: z = " in message
    assert "  target: mean of standardised log losses" in message
    assert '  "Good data" differs between fit and opposed' in message


def test_fit_stage_weighted_mean_and_unknown_set(ws):
    with console.capture() as captured:
        _pipeline(ws, {"target": "mean", "weights": {"fit": 1, "alike": 1}}).fit()
    assert "target: mean of standardised log losses: fit 0.5, alike 0.5" in captured.get()
    from instructmining.errors import UserError

    with pytest.raises(UserError, match="'mt_bench'; sets with losses: fit, alike, opposed"):
        _pipeline(ws, {"target": "mt_bench"}).fit()
