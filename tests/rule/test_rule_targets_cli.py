"""`instructmining fit --target/--weights` and the commands that name a rule's target."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from eval_sets_workspace import write_sets_workspace

from instructmining.rule.sets_text import runs_agreement
from instructmining.workspace import Workspace


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    return write_sets_workspace(tmp_path_factory.mktemp("sets") / "ws", n_subsets=16)


def test_fit_prints_agreement_transfer_and_sources_and_stores_them(ws, cli):
    out_file = ws / "fit-rule.json"
    code, out, _ = cli("fit", ws, "-o", out_file, "--max-indicators", "2")
    assert code == 0
    assert "target: log loss on fit" in out
    assert "Agreement between evaluation sets" in out
    assert '"Good data" differs between fit and opposed' in out
    assert "Transfer: cross-validated Spearman" in out and "dominant source" in out
    data = json.loads(out_file.read_text())
    assert data["target"] == {"kind": "fit", "sets": ["fit"], "weights": {"fit": 1.0}}
    assert [(r["a"], r["b"]) for r in data["eval_agreement"]] == [
        ("fit", "alike"),
        ("fit", "opposed"),
        ("alike", "opposed"),
    ]
    for record in data["eval_agreement"]:
        assert set(record) == {"a", "b", "spearman", "ci_low", "ci_high", "n_subsets"}
        assert all(isinstance(record[k], float) for k in ("spearman", "ci_low", "ci_high"))
    assert {r["evaluated_on"] for r in data["transfer"]} == {"fit", "alike", "opposed"}


def test_fit_on_a_weighted_mean(ws, cli):
    out_file = ws / "mean-rule.json"
    code, out, _ = cli(
        "fit", ws, "-o", out_file, "--target", "mean", "--weights", "fit=3,opposed=1"
    )
    assert code == 0
    assert "target: mean of standardised log losses: fit 0.75, opposed 0.25" in out
    target = json.loads(out_file.read_text())["target"]
    assert target == {
        "kind": "mean",
        "sets": ["fit", "opposed"],
        "weights": {"fit": 0.75, "opposed": 0.25},
    }
    assert "rule (ols): z = " in out


def test_fit_auto_says_why_it_fits_on_the_mean(ws, cli):
    code, out, _ = cli("fit", ws, "-o", ws / "auto.json", "--target", "auto")
    assert code == 0
    assert "(auto: the sets disagree (fit vs opposed" in out
    assert json.loads((ws / "auto.json").read_text())["target"]["kind"] == "mean"


def test_unknown_target_is_one_line_naming_the_sets(ws, cli):
    code, out, err = cli("fit", ws, "-o", ws / "none.json", "--target", "mt_bench")
    assert code == 2
    assert err == (
        "error: no recorded losses for evaluation set 'mt_bench'; "
        "sets with losses: fit, alike, opposed\n"
    )
    assert not (ws / "none.json").exists()
    code, _, err = cli("fit", ws, "-o", ws / "none.json", "--target", "fit", "--weights", "x")
    assert code == 2 and err.count("\n") == 1


def test_select_and_compare_name_the_rules_target(ws, cli, monkeypatch):
    rule = ws / "opposed.json"
    assert cli("fit", ws, "-o", rule, "--target", "opposed")[0] == 0
    code, out, _ = cli(
        "select", ws / "pool.parquet", "-o", ws / "sel.jsonl", "--rule", rule, "--top", "10"
    )
    assert code == 0 and "the rule's target: log loss on opposed" in out

    from instructmining.selection import training
    from instructmining.selection.compare import Comparison

    summary = pd.DataFrame({"selector": ["rule"], "runs": [2], "mean": [1.0], "sd": [0.1]})
    found = Comparison(pd.DataFrame(), summary, pd.DataFrame())
    monkeypatch.setattr(training, "compare_workspace", lambda *a, **k: found)
    code, out, _ = cli("compare", ws, "--n", "10", "--rule", rule)
    assert code == 0 and "the rule's target: log loss on opposed" in out


def test_experiment_prints_the_agreement_of_its_runs(ws):
    runs = pd.read_parquet(ws / "runs.parquet")
    text = runs_agreement(Workspace(ws), runs)
    assert "Agreement between evaluation sets" in text
    assert "fit prefers alpaca-dominated subsets" in text
    one_set = runs.drop(columns=["test_loss__alike", "test_loss__opposed"])
    assert "one set with runs" in runs_agreement(Workspace(ws), one_set)


def test_fit_with_one_evaluation_set_says_so(tmp_path, cli):
    from rule_synthetic import write_workspace

    one = write_workspace(tmp_path / "one")
    code, out, _ = cli("fit", one, "--max-indicators", "1")
    assert code == 0
    assert "evaluation sets: one set with runs, no agreement to measure" in out
    assert "Transfer" not in out and "dominant source" in out
    data = json.loads((one / "rule.json").read_text())
    assert data["eval_agreement"] == [] and data["target"]["kind"] == "fit"
