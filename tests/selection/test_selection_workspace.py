"""search and compare through the real experiments stage, on a tiny random Llama."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from instructmining.cli import main
from instructmining.outcomes import BASELINE
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
    # Every trial's fine-tune stays in the search's runs table, not only the last one's.
    runs = pd.read_parquet(ws / "search_runs.parquet")
    assert found["n"].nunique() >= 2
    trained = {int(s.split("-")[0].removeprefix("top")) for s in runs["subset_id"] if s != BASELINE}
    assert trained == set(found["n"])
    items = pd.read_parquet(ws / "search_runs_items.parquet")
    assert set(items["subset_id"]) == set(runs["subset_id"])
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


def _selector_of(ws: Path) -> pd.DataFrame:
    """Which selector each selection (subset id) of the comparison was, from compare.parquet."""
    named = pd.read_parquet(ws / "compare.parquet")[["selector", "seed", "subset_id"]]
    return named.drop_duplicates()


def _summary_from_runs_tables(ws: Path) -> pd.DataFrame:
    """The comparison's summary rebuilt from the fine-tunes it keeps on disk: the runs of
    compare_runs.parquet with their per-item losses in compare_runs_items.parquet."""
    from instructmining.selection.compare import summarize_comparison

    runs = pd.read_parquet(ws / "compare_runs.parquet")
    items = pd.read_parquet(ws / "compare_runs_items.parquet")
    items = items.merge(runs[["subset_id", "seed"]]).merge(_selector_of(ws))
    sums = items.groupby(["selector", "seed", "eval_set"])[["loss_sum", "tokens"]].sum()
    losses = (sums["loss_sum"] / sums["tokens"]).rename("eval_loss").reset_index()
    return summarize_comparison(losses, items=items)


@pytest.fixture
def compared(ws) -> Path:
    """A comparison of the rule's top 4 against random 4 over 3 seeds, with the rule beside it."""
    from instructmining.selection.training import compare_workspace

    compare_workspace(ws, RULE, 4, seeds=3, progress=False)
    (ws / "rule.json").write_text(json.dumps(RULE.to_dict()))
    return ws


def test_compare_keeps_every_seeds_run_and_the_report_shows_their_intervals(compared):
    from instructmining.report.build import render_report
    from instructmining.report.html import fmt

    ws = compared
    summary = pd.read_parquet(ws / "compare_summary.parquet")
    runs = pd.read_parquet(ws / "compare_runs.parquet").merge(_selector_of(ws))
    kept = runs[runs["status"] == "ok"].groupby("selector")["seed"].apply(sorted).to_dict()
    assert kept == {"rule": [0, 1, 2], "random": [0, 1, 2]}  # random0, random1 and random2
    counted = summary.set_index("selector")["runs"].to_dict()
    assert counted == {name: len(seeds) for name, seeds in kept.items()}
    rebuilt = _summary_from_runs_tables(ws)
    pd.testing.assert_frame_equal(rebuilt, summary)
    assert summary.loc[summary["selector"] == "random", "method"].item() == "paired t over seeds"
    html = render_report(ws)
    for column in ("diff", "diff_low", "diff_high", "boot_low", "boot_high"):
        assert f'<td class="num">{fmt(rebuilt[column].dropna().item())}</td>' in html, column
    assert "compare_runs.parquet lacks" not in html


def test_a_runs_table_in_the_old_layout_is_named_in_the_report_and_rebuilt_by_compare(compared):
    """Before every call appended to it, compare_runs.parquet kept only the last seed's
    selections (random2, not random0 or random1): the report says so in one line, and a rerun
    of compare rebuilds the tables from the run records without training again."""
    from instructmining.report.build import render_report
    from instructmining.selection.training import compare_workspace

    ws = compared
    complete = {
        t: pd.read_parquet(ws / f"{t}.parquet") for t in ("compare_runs", "compare_runs_items")
    }
    for table, rows in complete.items():
        old = rows[~rows["subset_id"].str.startswith(("random0-", "random1-"))]
        old.to_parquet(ws / f"{table}.parquet", index=False)
    records = {p: p.stat().st_mtime_ns for p in (ws / "compare_runs").rglob("*.json")}
    html = render_report(ws)
    assert "compare_runs.parquet lacks 2 of the 6 fine-tunes compare.parquet counts" in html
    assert "rerun <code>instructmining compare</code>" in html

    compare_workspace(ws, RULE, 4, seeds=3, progress=False)
    assert {p: p.stat().st_mtime_ns for p in (ws / "compare_runs").rglob("*.json")} == records
    for table, rows in complete.items():
        pd.testing.assert_frame_equal(pd.read_parquet(ws / f"{table}.parquet"), rows)
    assert "compare_runs.parquet lacks" not in render_report(ws)
