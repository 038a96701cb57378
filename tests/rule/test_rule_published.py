"""The published rules hold the paper's coefficients and apply by hand-checkable arithmetic."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from instructmining.errors import UserError
from instructmining.rule import PUBLISHED_RULES, Rule, load_rule


def test_paper_v1_coefficients():
    rule = load_rule("paper-v1")
    assert rule.intercept == 1.0694
    assert rule.coefficients == {"reward": -0.1498, "output_len": 8.257e-5, "knn6": -0.9350}
    assert rule.definitions["reward"]["model"] == "OpenAssistant/oasst-rm-2.1-pythia-1.4b-epoch-2.5"
    assert rule.definitions["knn6"]["k"] == 6
    assert rule.definitions["output_len"]["paper_name"] == "Len"


def test_paper_v3_coefficients():
    rule = load_rule("paper-v3")
    assert rule.intercept == 0.0274
    assert rule.coefficients == {
        "reward": -0.0078,
        "unieval_und": 0.4421,
        "unieval_nat": -0.3212,
        "unieval_coh": -0.1520,
    }
    assert {d["model"] for c, d in rule.definitions.items() if c != "reward"} == {
        "MingZhong/unieval-dialog"
    }


def test_published_rule_predicts_by_hand():
    table = pd.DataFrame({"reward": [2.0, -1.0], "output_len": [100, 0], "knn6": [0.5, 1.0]})
    got = load_rule("paper-v1").predict(table)
    assert got[0] == pytest.approx(1.0694 - 0.1498 * 2.0 + 8.257e-5 * 100 - 0.9350 * 0.5)
    assert got[1] == pytest.approx(1.0694 + 0.1498 - 0.9350)


def test_loaded_published_rules_are_copies():
    rule = load_rule("paper-v1")
    rule.coefficients["reward"] = 0.0
    assert PUBLISHED_RULES["paper-v1"].coefficients["reward"] == -0.1498


def test_published_rule_round_trips_through_a_file(tmp_path):
    path = tmp_path / "v3.json"
    path.write_text(json.dumps(load_rule("paper-v3").to_dict()))
    again = load_rule(path)
    assert again.coefficients == PUBLISHED_RULES["paper-v3"].coefficients
    assert again.intercept == 0.0274 and again.model == "published"


def test_missing_column_names_the_rule():
    with pytest.raises(UserError, match="paper-v3.*unieval_und"):
        load_rule("paper-v3").predict(pd.DataFrame({"reward": [1.0]}))


def test_bad_rule_specs(tmp_path):
    with pytest.raises(UserError, match="paper-v1, paper-v3"):
        load_rule("paper-v2")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(UserError, match="bad.json: not a readable rule file"):
        load_rule(bad)
    bad.write_text(json.dumps({"format": "instructmining-rule/1", "model": "ols"}))
    with pytest.raises(UserError, match="bad.json: not a valid rule file"):
        load_rule(bad)
    assert isinstance(Rule.from_dict(load_rule("paper-v1").to_dict()), Rule)


def test_describe_writes_the_formula():
    assert load_rule("paper-v1").describe() == (
        "log L = 1.069 - 0.1498 reward + 8.257e-05 output_len - 0.935 knn6"
    )
