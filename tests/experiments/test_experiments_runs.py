"""Runs over a workspace: one row per (subset, seed) plus the baseline, resumable, failures kept."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from experiments_data import DOLLY, SELF_INSTRUCT

from instructmining.cli import main
from instructmining.experiments import BASELINE, RUN_COLUMNS, run_experiments, summarize
from instructmining.experiments import train as train_module
from instructmining.storage import read_parquet


@pytest.fixture
def trainings(monkeypatch):
    """Count real trainings (the real function still runs)."""
    calls = []
    real = train_module.train

    def counted(warm, encoded, config, seed, on_step=None):
        calls.append((len(encoded), seed))
        return real(warm, encoded, config, seed, on_step)

    monkeypatch.setattr(train_module, "train", counted)
    return calls


def test_one_row_per_subset_and_seed_plus_baseline(workspace, tiny_config, trainings):
    runs = run_experiments(workspace, SELF_INSTRUCT, tiny_config, seeds=[0, 1], progress=False)
    assert list(runs.columns[: len(RUN_COLUMNS)]) == RUN_COLUMNS
    assert list(zip(runs["subset_id"], runs["seed"], strict=True)) == [
        (BASELINE, 0),
        ("s0", 0),
        ("s0", 1),
        ("s1", 0),
        ("s1", 1),
        ("s2", 0),
        ("s2", 1),
    ]
    assert (runs["status"] == "ok").all() and runs["error"].isna().all()
    assert runs["examples"].tolist() == [0] + [6] * 6
    assert runs["train_loss"].isna().tolist() == [True] + [False] * 6
    assert runs["config_hash"].nunique() == 1 and runs["eval_hash"].nunique() == 1
    assert runs["versions"].str.contains("torch=").all()
    assert len(trainings) == 6
    on_disk = read_parquet(workspace / "runs.parquet")
    pd.testing.assert_frame_equal(on_disk, runs)
    text = summarize(runs)
    assert "seed noise" in text and "spread / noise" in text
    # Each run's per-item losses add up to its eval loss (token-weighted mean over the items).
    items = read_parquet(workspace / "runs_items.parquet")
    assert set(items["eval_set"]) == {"fit"} and len(items) == 7 * items["item_id"].nunique()
    per_run = items.groupby(["subset_id", "seed"])[["loss_sum", "tokens"]].sum()
    mean = (per_run["loss_sum"] / per_run["tokens"]).rename("eval_loss")
    joined = runs.set_index(["subset_id", "seed"])["eval_loss"]
    pd.testing.assert_series_equal(
        mean.sort_index(), joined.sort_index(), rtol=1e-5, check_index_type=False
    )


def test_rerun_skips_finished_runs_and_adds_new_seeds(workspace, tiny_config, trainings):
    first = run_experiments(workspace, SELF_INSTRUCT, tiny_config, seeds=[0], progress=False)
    assert len(trainings) == 3
    again = run_experiments(workspace, SELF_INSTRUCT, tiny_config, seeds=[0], progress=False)
    assert len(trainings) == 3
    pd.testing.assert_frame_equal(first, again)
    more = run_experiments(workspace, SELF_INSTRUCT, tiny_config, seeds=[0, 1], progress=False)
    assert len(trainings) == 6 and len(more) == 7


def test_changed_settings_or_subsets_are_rerun(workspace, tiny_config, pool, trainings):
    run_experiments(workspace, SELF_INSTRUCT, tiny_config, progress=False)
    other = tiny_config.model_copy(update={"lr": 1e-3})
    runs = run_experiments(workspace, SELF_INSTRUCT, other, progress=False)
    assert len(trainings) == 6 and runs["config_hash"].nunique() == 1
    subsets = read_parquet(workspace / "subsets.parquet")
    subsets.loc[subsets["subset_id"] == "s2", "id"] = list(pool["id"].iloc[20:26])
    runs = run_experiments(workspace, SELF_INSTRUCT, other, subsets=subsets, progress=False)
    assert len(trainings) == 7 and len(runs) == 4


def test_failed_run_is_recorded_others_go_on_and_it_is_retried(workspace, tiny_config, monkeypatch):
    real = train_module.train

    def fails_on_seed_7(warm, encoded, config, seed, on_step=None):
        if seed == 7 and len(encoded) == 6:
            raise RuntimeError("CUDA out of memory (simulated)")
        return real(warm, encoded, config, seed, on_step)

    monkeypatch.setattr(train_module, "train", fails_on_seed_7)
    runs = run_experiments(workspace, SELF_INSTRUCT, tiny_config, seeds=[7], progress=False)
    failed = runs[runs["status"] == "failed"]
    assert len(failed) == 3 and runs.loc[runs["subset_id"] == BASELINE, "status"].item() == "ok"
    assert failed["error"].str.contains("RuntimeError: CUDA out of memory").all()
    assert failed["eval_loss"].isna().all()
    assert "3 failed" in summarize(runs)

    monkeypatch.setattr(train_module, "train", real)
    runs = run_experiments(workspace, SELF_INSTRUCT, tiny_config, seeds=[7], progress=False)
    assert (runs["status"] == "ok").all() and len(runs) == 4


def test_interrupted_run_leaves_no_row_and_restarts(workspace, tiny_config, monkeypatch):
    real = train_module.train
    done = []

    def interrupted_second_time(warm, encoded, config, seed, on_step=None):
        if len(done) == 1:
            raise KeyboardInterrupt
        done.append(seed)
        return real(warm, encoded, config, seed, on_step)

    monkeypatch.setattr(train_module, "train", interrupted_second_time)
    with pytest.raises(KeyboardInterrupt):
        run_experiments(workspace, SELF_INSTRUCT, tiny_config, progress=False)
    partial = read_parquet(workspace / "runs.parquet")
    assert partial["subset_id"].tolist() == [BASELINE, "s0"]
    assert not list(workspace.glob("**/*.tmp"))

    monkeypatch.setattr(train_module, "train", real)
    runs = run_experiments(workspace, SELF_INSTRUCT, tiny_config, progress=False)
    assert runs["subset_id"].tolist() == [BASELINE, "s0", "s1", "s2"]
    assert runs.loc[1].to_dict() == partial.loc[1].to_dict()


def test_test_evals_add_columns(workspace, tiny_config):
    runs = run_experiments(
        workspace, SELF_INSTRUCT, tiny_config, test_evals={"dolly": DOLLY}, progress=False
    )
    assert "test_loss__dolly" in runs.columns
    assert runs["test_loss__dolly"].notna().all()


def test_records_are_json_files_under_runs_folder(workspace, tiny_config):
    run_experiments(workspace, SELF_INSTRUCT, tiny_config, progress=False)
    files = sorted((workspace / "runs").glob("*/*.json"))
    assert [f.name for f in files] == [
        "__base__.seed0.json",
        "s0.seed0.json",
        "s1.seed0.json",
        "s2.seed0.json",
    ]
    assert json.loads(files[1].read_text())["status"] == "ok"


def test_cli_runs_and_prints_the_summary(workspace, tiny_model, capsys):
    args = ["experiment", str(workspace), "--eval", str(SELF_INSTRUCT)]
    args += ["--base-model", str(tiny_model), "--seeds", "0,1", "--max-length", "64"]
    args += ["--epochs", "1", "--lr", "5e-3", "--batch-size", "4", "--test-eval", f"dolly={DOLLY}"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "base model eval loss" in out and "spread / noise" in out
    runs = read_parquet(workspace / "runs.parquet")
    assert len(runs) == 7 and "test_loss__dolly" in runs.columns


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--seeds", "0,x"], "--seeds must be integers"),
        (["--test-eval", "nofile"], "--test-eval must be NAME=FILE"),
        (["--preset", "huge"], "unknown preset 'huge'"),
        (["--lr", "-1"], "experiment setting lr"),
    ],
)
def test_cli_bad_options_are_one_line_errors(workspace, tiny_model, capsys, extra, message):
    args = ["experiment", str(workspace), "--eval", str(SELF_INSTRUCT)]
    assert main([*args, "--base-model", str(tiny_model), *extra]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: ") and message in err[-1]


def test_missing_inputs_are_one_line_errors(tmp_path, workspace, tiny_model, capsys):
    args = ["experiment", str(workspace), "--base-model", str(tiny_model)]
    assert main([*args, "--eval", str(tmp_path / "none.jsonl")]) == 2
    assert "none.jsonl: no such file" in capsys.readouterr().err
    (workspace / "subsets.parquet").unlink()
    assert main([*args, "--eval", str(SELF_INSTRUCT)]) == 2
    assert "subsets.parquet: no such file" in capsys.readouterr().err
