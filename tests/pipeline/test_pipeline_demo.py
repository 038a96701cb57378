"""`instructmining demo --quick`: the whole loop on the bundled real data and models, end to end.

The reduced size is too small for a meaningful rule; it checks that every stage runs on the real
path (the selections design, a refine round, compare judging the final selection), that the
closing message carries the rule, the comparison and the report, and that a rerun resumes from
the workspace without training again.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from instructmining.sampling import read_design_info
from instructmining.selection.compare import subset_name
from instructmining.workspace import Workspace

pytestmark = pytest.mark.slow


def run_demo(workspace: Path) -> subprocess.CompletedProcess:
    code = "from instructmining.cli import entrypoint; entrypoint()"
    return subprocess.run(
        [sys.executable, "-c", code, "demo", "--quick", "-o", str(workspace)],
        capture_output=True,
        text=True,
        timeout=1500,
    )


def run_records(workspace: Path) -> list[Path]:
    return sorted((workspace / "runs").rglob("*.json"))


def test_quick_demo_runs_every_stage_and_resumes(tmp_path: Path) -> None:
    workspace = tmp_path / "demo"
    first = run_demo(workspace)
    assert first.returncode == 0, first.stderr[-3000:]
    runs = check_first_run(workspace, first.stdout, first.stderr)

    records = run_records(workspace)
    second = run_demo(workspace)
    assert second.returncode == 0, second.stderr[-3000:]
    assert run_records(workspace) == records
    assert "up to date" in second.stderr
    assert pd.read_parquet(workspace / "runs.parquet").equals(runs)


def stage_log(log: str, stage: str, following: str) -> str:
    """The part of the pipeline's log between stage `stage`'s heading and `following`'s."""
    return log[log.index(f". {stage}:") : log.index(f". {following}:")]


def check_first_run(workspace: Path, stdout: str, stderr: str) -> pd.DataFrame:
    """Everything a first quick demo must leave and say; returns its runs table."""
    for name in [
        "pool.parquet",
        "indicators.parquet",
        "subsets.parquet",
        "runs.parquet",
        "rule.json",
        "selected.jsonl",
        "selected.scores.parquet",
        "compare.parquet",
        "compare_summary.parquet",
        "compare_items.parquet",
        "runs_items.parquet",
        "holdout.json",
        "overlap.json",
        "report.html",
    ]:
        assert (workspace / name).is_file(), name
    pool = pd.read_parquet(workspace / "pool.parquet")
    assert sorted(pool["source"].unique()) == ["dolly", "oasst", "openorca", "stackexchange"]
    # The selections design over every indicator column (those the rule may use), random
    # subsets among them.
    design = read_design_info(Workspace(workspace).mixtures)
    indicators = pd.read_parquet(workspace / "indicators.parquet")
    assert design["design"] == "selections"
    assert set(design["columns"]) == set(indicators.columns) - {"id"}
    kinds = [origin["kind"] for origin in design["origins"].values()]
    assert len(kinds) == 8 and kinds.count("random") == 1 and kinds.count("selection") == 7
    runs = pd.read_parquet(workspace / "runs.parquet")
    assert (runs["status"] == "ok").all()
    # the 8 subsets, the refine round's selection and the untrained baseline
    assert set(runs["subset_id"]) == {*design["origins"], "refine1", "__base__"}
    # One refine round: chosen inside the evidence, added as a subset, fine-tuned, refitted.
    refine = pd.read_parquet(workspace / "refine.parquet")
    assert list(refine["round"]) == [1] and list(refine["status"]) == ["measured"]
    assert refine["kind"].iloc[0] == "inside the evidence" and refine["n"].iloc[0] == 8
    assert refine[["predicted", "measured"]].notna().all().all()
    assert "refine1" in set(pd.read_parquet(workspace / "subsets.parquet")["subset_id"])
    assert "refine stops: 1 round(s) done" in stderr
    assert "refine1" in json.loads((workspace / "rule.json").read_text())["evidence"]["subsets"]
    assert runs["test_loss__mt_bench"].notna().all()
    # It really trains: every fine-tune moves the loss away from the base model's, and the
    # subsets differ (an lr-0 schedule once gave all 16 runs the base loss, 3.024196).
    base = runs.loc[runs["subset_id"] == "__base__", "eval_loss"].iloc[0]
    trained = runs.loc[runs["subset_id"] != "__base__", "eval_loss"]
    assert (trained - base).abs().min() > 1e-4, (base, trained.tolist())
    assert trained.nunique() > 1
    assert "nothing was learned" not in stdout
    rule = json.loads((workspace / "rule.json").read_text())
    assert rule["indicators"]
    (agreement,) = rule["eval_agreement"]
    # the 8 design subsets and the refine round's, refitted after it
    assert (agreement["a"], agreement["b"], agreement["n_subsets"]) == ("fit", "mt_bench", 9)
    # target auto: the mean of both sets where their interval lies below zero, else the fit set
    disagree = agreement["ci_high"] is not None and agreement["ci_high"] < 0
    assert rule["target"]["kind"] == ("mean" if disagree else "fit")
    assert "Agreement between evaluation sets" in stderr
    assert "fit and mt_bench" in stdout
    assert f"fitted rule: {'z' if disagree else 'log L'} =" in stdout
    assert "95% CI" in stdout
    assert rule["fit"]["permutations"] == 200 and 0 < rule["fit"]["permutation_p"] <= 1
    assert -1 <= rule["fit"]["cv_spearman"] <= 1 and "cv_r2" in rule["mixture"]
    holdout = json.loads((workspace / "holdout.json").read_text())
    assert len(holdout["holdout_ids"]) == 4 and len(holdout["fit_ids"]) == 8
    assert not set(holdout["holdout_ids"]) & set(holdout["fit_ids"])
    overlap = json.loads((workspace / "overlap.json").read_text())
    assert {"contaminated", "exact", "near"} <= set(overlap)
    compare = pd.read_parquet(workspace / "compare.parquet")
    assert set(compare["selector"]) == {"rule", "random", "ifd", "mixture"}
    # compare judges the final selection: the examples select wrote, for every seed.
    selected = pd.read_json(workspace / "selected.jsonl", lines=True)["id"].astype(str)
    rule_arm = set(compare.loc[compare["selector"] == "rule", "subset_id"])
    assert rule_arm == {subset_name("rule-chosen8", list(selected))}
    # compare printed the choice select printed (a line naming the candidate and prediction)
    chosen = [line for line in stage_log(stderr, "select", "search").splitlines()]
    chosen = [line for line in chosen if line.startswith("selection: ")]
    assert len(chosen) == 1 and chosen[0].startswith("selection: inside the evidence")
    assert chosen[0] in stage_log(stderr, "compare", "report").splitlines()
    assert set(compare["eval_set"]) == {"fit", "holdout", "mt_bench"}
    summary = pd.read_parquet(workspace / "compare_summary.parquet")
    vs_random = summary[summary["selector"] == "random"]
    assert sorted(vs_random["eval_set"]) == ["fit", "holdout", "mt_bench"]  # one interval each
    assert vs_random[["diff_low", "boot_low"]].notna().all().all()
    assert "verdict: The rule" in stdout and "permutation p" in stdout
    assert "its selection" in stdout and "its top n" not in stdout
    assert "paired bootstrap over items and seeds" in stdout
    assert " on holdout:" in stdout and " on mt_bench:" in stdout
    report = (workspace / "report.html").read_text()
    assert report.index('id="verdict"') < report.index('id="summary"')
    assert f"report: {(workspace / 'report.html').resolve()}" in stdout
    # A log reads cleanly: evaluation sets first and said once, steps named as steps, no
    # third-party bars.
    log = stderr
    assert log.index("1. evaluation sets") < log.index("2. pool") < log.index("3. indicators")
    assert log.count("held out 4 of the fit set's items") == 1
    assert " steps (" in log and "Loading weights" not in log
    return runs
