"""search and compare through the real experiments stage, on a tiny random Llama."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from instructmining.cli import main
from instructmining.rule import Rule

pytestmark = pytest.mark.slow

RULE = Rule(
    name="toy", model="ols", indicators=["reward"], intercept=1.0, coefficients={"reward": -0.1}
)


@pytest.fixture
def ws(tmp_path, tiny_model) -> Path:
    rng = np.random.default_rng(0)
    n = 16
    pool = pd.DataFrame(
        {
            "id": [f"e{i:02d}" for i in range(n)],
            "source": ["a", "b"] * (n // 2),
            "instruction": [f"Name a colour number {i}." for i in range(n)],
            "input": "",
            "output": [f"Colour {i} is {'red' if i % 2 else 'blue'}." for i in range(n)],
            "system": "",
        }
    )
    root = tmp_path / "ws"
    root.mkdir()
    pool.to_parquet(root / "pool.parquet", index=False)
    pd.DataFrame({"id": pool["id"], "reward": rng.normal(size=n)}).to_parquet(
        root / "indicators.parquet", index=False
    )
    eval_items = [{"instruction": f"Say {w}.", "input": "", "output": w} for w in ("hi", "yes")]
    (tmp_path / "eval.json").write_text(json.dumps(eval_items))
    (tmp_path / "test.json").write_text(json.dumps(eval_items[::-1] + [eval_items[0]]))
    # No warm-up: selections of 2-4 examples make one optimizer step, which must not be at lr 0.
    config = {
        "base_model": str(tiny_model),
        "max_length": 64,
        "batch_size": 4,
        "epochs": 1,
        "schedule": "constant",
        "warmup": 0.0,
    }
    experiment = {"eval_file": str(tmp_path / "eval.json"), "config": config}
    (root / "experiment.json").write_text(json.dumps(experiment))
    return root


def test_search_trains_each_n_once_and_reports_the_test_set(ws):
    from instructmining.selection.training import search_workspace

    test = ws.parent / "test.json"
    tests = {"test": test, "again": test}  # two named sets, as --test-eval given twice
    found = search_workspace(ws, RULE, 2, 12, trials=3, test_eval=tests, progress=False)
    assert len(found) >= 1 and found["eval_loss"].map(math.isfinite).all()
    assert found["test_loss"].map(math.isfinite).all()
    assert list(found.columns[-2:]) == ["test_loss__again", "test_loss__test"]
    np.testing.assert_allclose(found["test_loss__test"], found["test_loss"])
    np.testing.assert_allclose(found["test_loss__again"], found["test_loss"])
    saved = pd.read_parquet(ws / "search.parquet")
    pd.testing.assert_frame_equal(saved, found)
    runs = pd.read_parquet(ws / "search_runs.parquet")
    assert any(s.startswith("top") for s in runs["subset_id"])
    # A second search with the same seed proposes the same n and trains nothing new.
    again = search_workspace(ws, RULE, 2, 12, trials=3, test_eval=tests, progress=False)
    np.testing.assert_allclose(again["eval_loss"], found["eval_loss"])


def test_compare_cli_trains_rule_random_and_baseline_per_seed(ws, capsys, tmp_path):
    rule_path = tmp_path / "rule.json"
    rule_path.write_text(json.dumps(RULE.to_dict()))
    args = ["compare", str(ws), "--rule", str(rule_path), "--n", "4", "--seeds", "2"]
    test = f"other={ws.parent / 'test.json'}"
    assert main([*args, "--baselines", "reward", "--test-eval", test]) == 0
    out = capsys.readouterr().out
    assert "paired t over seeds" in out and "paired bootstrap over items and seeds" in out
    assert "The verdict's comparison with random is decided by the paired bootstrap" in out
    assert "Eval loss on fit" in out and "Eval loss on other" in out
    assert "verdict: The rule is not better than chance (permutation p = unmeasured" in out
    runs = pd.read_parquet(ws / "compare.parquet")
    assert len(runs) == 12 and set(runs["selector"]) == {"rule", "random", "reward"}
    assert set(runs["eval_set"]) == {"fit", "other"}  # the same 6 fine-tunes, two eval sets
    assert runs["eval_loss"].map(math.isfinite).all()
    items = pd.read_parquet(ws / "compare_items.parquet")
    assert len(items) == 6 * (2 + 2)  # per job: 2 fit items, 2 distinct test items
