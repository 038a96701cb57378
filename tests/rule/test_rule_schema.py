"""Rule files are validated in full at load; a valid GBM rule still loads and scores."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from instructmining.errors import UserError
from instructmining.rule import load_rule
from instructmining.rule.schema import MAX_DEPTH

RULES = Path(__file__).resolve().parents[1] / "data" / "bad" / "rules"


def test_valid_gbm_rule_loads_and_scores():
    rule = load_rule(RULES / "rule_valid_gbm.json")
    table = pd.DataFrame({"input_len": [1.0, 30.0], "output_len": [10.0, 200.0]})
    # One tree splitting output_len at its centre: short answers get value -0.1, long +0.1.
    assert rule.predict(table) == pytest.approx([0.5 - 0.01, 0.5 + 0.01])


@pytest.mark.parametrize(
    "name", sorted(p.name for p in RULES.glob("rule_*.json") if "valid" not in p.name)
)
def test_every_invalid_rule_is_one_line(name):
    with pytest.raises(UserError, match="not a (valid|readable) rule file") as info:
        load_rule(RULES / name)
    assert "\n" not in str(info.value)


def test_depth_is_bounded(tmp_path):
    data = json.loads((RULES / "rule_valid_gbm.json").read_text())
    nested: object = 1
    for _ in range(MAX_DEPTH + 1):
        nested = [nested]
    data["notes"] = nested
    path = tmp_path / "deep.json"
    path.write_text(json.dumps(data))
    with pytest.raises(UserError, match=f"nested deeper than {MAX_DEPTH} levels"):
        load_rule(path)


def test_fitted_rules_survive_validation():
    for name in ("paper-v1", "paper-v3"):
        rule = load_rule(name)
        assert np.isfinite(rule.intercept)
        assert type(rule).from_dict(rule.to_dict()).coefficients == rule.coefficients
