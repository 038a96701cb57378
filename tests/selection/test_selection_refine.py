"""`instructmining refine`: one round adds exactly one subset, fine-tunes it, refits; resumable.

A synthetic workspace on a tiny random Llama: 6 Dirichlet subsets of 4 real-text examples, two
seeds each, fitted by the real experiments and fit stages. Bad input is one line, exit 2, and
leaves every workspace file as it was.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from instructmining.cli import main
from instructmining.experiments import preset
from instructmining.experiments.stage import experiment_stage
from instructmining.hashing import hash_file
from instructmining.report.build import render_report
from instructmining.rule import load_rule
from instructmining.rule.stage import fit_stage
from instructmining.sampling import build_design, write_design
from instructmining.selection.refine import refine_stage, refine_workspace, refit
from instructmining.storage import read_parquet

pytestmark = pytest.mark.slow
N = 4


@pytest.fixture(scope="module")
def base(tmp_path_factory, tiny_model) -> Path:
    """A workspace with finished runs and a fitted rule (built once; tests work on copies)."""
    root = tmp_path_factory.mktemp("refine") / "ws"
    root.mkdir()
    rng = np.random.default_rng(0)
    n = 24
    colours = ["red", "blue", "green", "gold"]
    pool = pd.DataFrame(
        {
            "id": [f"e{i:02d}" for i in range(n)],
            "source": ["a", "b", "c", "d"] * (n // 4),
            "instruction": [f"Name colour number {i}." for i in range(n)],
            "input": "",
            "output": [f"Colour {i} is {colours[i % 4]}." for i in range(n)],
            "system": "",
        }
    )
    pool.to_parquet(root / "pool.parquet", index=False)
    indicators = pd.DataFrame(
        {"id": pool["id"], "x1": rng.normal(size=n), "x2": rng.normal(size=n)}
    )
    indicators.to_parquet(root / "indicators.parquet", index=False)
    write_design(build_design(pool, 6, N, 0, "dirichlet", indicators), root / "subsets.parquet")
    items = [{"instruction": f"Say {w}.", "input": "", "output": w} for w in ("hi", "yes")]
    (root.parent / "eval.json").write_text(json.dumps(items))
    config = preset(
        "cpu-small",
        base_model=str(tiny_model),
        max_length=64,
        batch_size=4,
        epochs=1,
        lr=5e-3,
        schedule="constant",
        warmup=0.0,
    )
    experiment_stage(root, root.parent / "eval.json", config, [0, 1])
    fit_stage(root, indicators=["x1", "x2"], exact=True, permutations=0, jobs=1)
    return root


@pytest.fixture
def ws(base, tmp_path) -> Path:
    copy = tmp_path / "ws"
    shutil.copytree(base, copy)
    shutil.copy(base.parent / "eval.json", tmp_path / "eval.json")
    return copy


def _files(ws: Path) -> dict[str, str]:
    return {str(p.relative_to(ws)): hash_file(p) for p in sorted(ws.rglob("*")) if p.is_file()}


def _subsets(ws: Path) -> list[str]:
    return list(dict.fromkeys(read_parquet(ws / "subsets.parquet")["subset_id"]))


def test_a_round_adds_exactly_one_subset_fine_tunes_it_and_refits(ws, capsys):
    before, rule_before = _subsets(ws), load_rule(ws / "rule.json")
    code = main(["refine", str(ws), "--rounds", "1", "--n", str(N)])
    printed = capsys.readouterr().out
    assert code == 0
    after = _subsets(ws)
    assert after == [*before, "refine1"]
    members = read_parquet(ws / "subsets.parquet").query("subset_id == 'refine1'")["id"]
    assert len(members) == N
    runs = read_parquet(ws / "runs.parquet")
    assert sorted(runs.loc[runs["subset_id"] == "refine1", "seed"]) == [0, 1]
    rule = load_rule(ws / "rule.json")
    assert rule.info["evidence"]["subsets"] == sorted(
        [*rule_before.info["evidence"]["subsets"], "refine1"]
    )
    assert rule.info["n_subsets"] == rule_before.info["n_subsets"] + 1
    table = read_parquet(ws / "refine.parquet")
    assert table["status"].tolist() == ["measured"] and table["subset_id"].tolist() == ["refine1"]
    row = table.iloc[0]
    loss = runs.loc[runs["subset_id"] == "refine1", "eval_loss"].mean()
    assert row["measured"] == pytest.approx(np.log(loss))
    assert np.isfinite(row["predicted"]) and row["pi_low"] < row["predicted"] < row["pi_high"]
    assert "refine1" in printed and "measured" in printed and "refine stops" in printed
    page = render_report(ws)
    section = page[page.index('id="refine"') :]
    assert "1 refine round(s)" in section and "refine1" in section and "first round" in section
    # The same --rounds again: nothing more to do, nothing trained.
    assert main(["refine", str(ws), "--rounds", "1", "--n", str(N)]) == 0
    assert _subsets(ws) == after
    assert len(read_parquet(ws / "runs.parquet")) == len(runs)


def test_a_killed_round_resumes_without_choosing_or_training_again(ws):
    class Killed(Exception):
        pass

    def killed_fit() -> None:
        raise Killed

    from instructmining.selection.training import experiment_settings

    settings = experiment_settings(ws)

    def experiment() -> None:
        experiment_stage(ws, settings.eval_file, settings.config, [0, 1], settings.test_evals)

    with pytest.raises(Killed):  # killed after its fine-tunes, before the refit
        refine_workspace(ws, 1, N, experiment, killed_fit, say=lambda s: None)
    table = read_parquet(ws / "refine.parquet")
    assert table["status"].tolist() == ["selected"]
    records = {p.name: p.stat().st_mtime_ns for p in (ws / "runs").rglob("refine1.seed*.json")}
    assert len(records) == 2
    members = read_parquet(ws / "subsets.parquet").query("subset_id == 'refine1'")["id"].tolist()
    done = refine_stage(ws, 1, N, say=lambda s: None)
    assert done.table["status"].tolist() == ["measured"]
    assert _subsets(ws).count("refine1") == 1
    again = read_parquet(ws / "subsets.parquet").query("subset_id == 'refine1'")["id"].tolist()
    assert again == members
    assert {
        p.name: p.stat().st_mtime_ns for p in (ws / "runs").rglob("refine1.seed*.json")
    } == records
    assert "refine1" in load_rule(ws / "rule.json").info["evidence"]["subsets"]


def test_refit_repeats_the_recorded_fit_settings(ws):
    rule = load_rule(ws / "rule.json")
    refit(ws)
    again = load_rule(ws / "rule.json")
    assert again.indicators == rule.indicators
    assert again.info["fit_settings"] == rule.info["fit_settings"]
    assert again.coefficients == pytest.approx(rule.coefficients)


@pytest.mark.parametrize("rounds", ["0", "-1"])
def test_no_rounds_is_one_line_and_exit_2(ws, capsys, rounds):
    files = _files(ws)
    assert main(["refine", str(ws), "--rounds", rounds, "--n", str(N)]) == 2
    err = capsys.readouterr().err.strip()
    assert "--rounds" in err and len(err.splitlines()) == 1
    assert _files(ws) == files


def test_a_workspace_without_runs_is_refused(ws, capsys):
    (ws / "runs.parquet").unlink()
    files = _files(ws)
    assert main(["refine", str(ws), "--rounds", "1", "--n", str(N)]) == 2
    err = capsys.readouterr().err.strip()
    assert "no finished runs" in err and len(err.splitlines()) == 1
    assert _files(ws) == files


@pytest.mark.parametrize("change", ["drop", "add"])
def test_a_changed_pool_is_refused_and_nothing_is_lost(ws, capsys, change):
    pool = pd.read_parquet(ws / "pool.parquet")
    if change == "drop":
        pool = pool.iloc[1:]
    else:
        extra = pool.iloc[:1].assign(id="new", instruction="Name a new colour.")
        pool = pd.concat([pool, extra], ignore_index=True)
    pool.to_parquet(ws / "pool.parquet", index=False)
    files = _files(ws)
    assert main(["refine", str(ws), "--rounds", "1", "--n", str(N)]) == 2
    err = capsys.readouterr().err.strip()
    assert "pool changed" in err and len(err.splitlines()) == 1
    assert _files(ws) == files
