"""compare judges the selection `select --rule` makes; `rule-top` is the unconstrained top n.

On the planted workspace (evidence_data) the rule's top n lies far outside the tested subsets,
so the two arms differ: the rule arm must be select's choice inside the evidence, the same for
every seed, and the `rule-top` baseline the rule's top n. Fine-tunes run on a tiny random Llama.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from evidence_data import evidence_workspace

from instructmining.cli import main
from instructmining.rule import load_rule
from instructmining.selection import score_pool
from instructmining.selection.compare import subset_name
from instructmining.selection.evidence import INSIDE

pytestmark = pytest.mark.slow

N = 20


@pytest.fixture
def ws(tmp_path: Path, tiny_model: Path) -> Path:
    root = evidence_workspace(tmp_path / "ws")
    items = [{"instruction": f"Say {w}.", "input": "", "output": w} for w in ("hi", "yes")]
    (tmp_path / "eval.json").write_text(json.dumps(items))
    config = {
        "base_model": str(tiny_model),
        "max_length": 32,
        "batch_size": 10,
        "epochs": 1,
        "schedule": "constant",
        "warmup": 0.0,
    }
    experiment = {"eval_file": str(tmp_path / "eval.json"), "config": config}
    (root / "experiment.json").write_text(json.dumps(experiment))
    return root


def test_the_rule_arm_is_selects_choice_and_rule_top_the_top_n(ws, tmp_path, capsys):
    out = tmp_path / "chosen.jsonl"
    rule = str(ws / "rule.json")
    select = ["select", str(ws / "pool.parquet"), "--rule", rule, "--top", str(N), "-o", str(out)]
    assert main(select) == 0
    chosen = [json.loads(line)["id"] for line in out.read_text().splitlines()]
    ranked = score_pool(
        pd.read_parquet(ws / "pool.parquet"),
        "rule",
        rule=load_rule(rule),
        indicators=pd.read_parquet(ws / "indicators.parquet"),
        progress=False,
    )
    top = list(ranked["id"].head(N))
    assert set(chosen) != set(top)  # the planted top n lies outside the evidence
    capsys.readouterr()

    args = ["compare", str(ws), "--rule", rule, "--n", str(N), "--seeds", "2"]
    assert main([*args, "--baselines", "rule-top"]) == 0
    printed = capsys.readouterr().out
    assert f"selection: {INSIDE}" in printed
    assert "rule-top: the rule's unconstrained top n, an extrapolation" in printed
    runs = pd.read_parquet(ws / "compare.parquet")
    assert set(runs["selector"]) == {"rule", "rule-top", "random"}
    arms = runs.groupby("selector")["subset_id"].unique()
    # One selection for every seed: select's choice, and the top n (the old rule arm's name).
    assert list(arms["rule"]) == [subset_name(f"rule-chosen{N}", chosen)]
    assert list(arms["rule-top"]) == [subset_name(f"rule-top{N}", top)]
    assert len(arms["random"]) == 2
    assert runs["eval_loss"].notna().all() and len(runs) == 3 * 2
    summary = pd.read_parquet(ws / "compare_summary.parquet")
    assert list(summary["selector"]) == ["rule", "random", "rule-top"]


def test_an_unknown_baseline_fails_before_training(ws, capsys):
    args = ["compare", str(ws), "--rule", str(ws / "rule.json"), "--n", str(N), "--seeds", "2"]
    assert main([*args, "--baselines", "rule-tops"]) == 2
    assert "unknown selector 'rule-tops'" in capsys.readouterr().err
    assert not (ws / "compare.parquet").exists()
