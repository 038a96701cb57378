"""The closing message survives undefined figures (constant losses give no R²)."""

from __future__ import annotations

import json

from instructmining.pipeline.run import PipelineResult
from instructmining.pipeline.summary import final_message
from instructmining.rule import Rule


def test_undefined_figures_are_named_not_fatal(tmp_path):
    info = {
        "fit": {"cv_r2": None, "cv_spearman": None, "permutation_p": 1.0},
        "mixture": {"cv_r2": None, "best_mixture": {"a": 1.0}},
    }
    rule = Rule("rule", "ols", ["x"], 1.0, {"x": 0.1}, info=info)
    (tmp_path / "rule.json").write_text(json.dumps(rule.to_dict()))
    text = final_message(PipelineResult(tmp_path, tmp_path / "rule.json", None, None), 60)
    assert "verdict: The rule is not better than chance (permutation p = 1" in text
    assert "cross-validated R² undefined" in text and "mixture rule CV R² undefined" in text
