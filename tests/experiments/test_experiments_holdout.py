"""The held-out split of the fit set: seeded, deterministic, disjoint, recorded."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from experiments_data import SELF_INSTRUCT

from instructmining.errors import UserError
from instructmining.experiments.holdout import split_holdout, write_holdout
from instructmining.storage import read_parquet


def _items(n=40):
    return pd.DataFrame({"id": [f"q{i:03d}" for i in range(n)], "output": "x"})


def test_split_is_deterministic_disjoint_and_complete():
    items = _items()
    fit, held = split_holdout(items, 0.25, seed=3)
    again_fit, again_held = split_holdout(items.sample(frac=1, random_state=9), 0.25, seed=3)
    assert list(held["id"]) == list(again_held["id"]) and list(fit["id"]) == list(again_fit["id"])
    assert len(held) == 10 and len(fit) == 30
    assert not set(fit["id"]) & set(held["id"])
    assert set(fit["id"]) | set(held["id"]) == set(items["id"])
    _, other = split_holdout(items, 0.25, seed=4)
    assert set(other["id"]) != set(held["id"])  # the seed matters


def test_split_keeps_an_item_on_each_side_and_rejects_bad_fractions():
    fit, held = split_holdout(_items(3), 0.01)
    assert len(held) == 1 and len(fit) == 2
    for bad in (0, 1, 1.5):
        with pytest.raises(UserError, match="`holdout` must lie strictly between 0 and 1"):
            split_holdout(_items(), bad)


def test_write_holdout_records_the_split(tmp_path):
    fit_path, held_path = write_holdout(tmp_path, SELF_INSTRUCT, 0.3, seed=1)
    record = json.loads((tmp_path / "holdout.json").read_text())
    fit, held = read_parquet(fit_path), read_parquet(held_path)
    assert list(fit["id"]) == record["fit_ids"] and list(held["id"]) == record["holdout_ids"]
    assert record["fraction"] == 0.3 and record["seed"] == 1
    assert not set(fit["id"]) & set(held["id"])


def test_experiment_cli_holds_items_out_of_the_fit_set(workspace, tiny_model):
    from instructmining.cli import main

    args = ["experiment", str(workspace), "--eval", str(SELF_INSTRUCT), "--holdout", "0.4"]
    args += ["--base-model", str(tiny_model), "--max-length", "64", "--warmup", "0"]
    assert main(args) == 0
    record = json.loads((workspace / "holdout.json").read_text())
    runs = read_parquet(workspace / "runs.parquet")
    assert runs["test_loss__holdout"].notna().all()  # every run measured on the held-out part
    items = read_parquet(workspace / "runs_items.parquet")
    assert set(items.loc[items["eval_set"] == "fit", "item_id"]) == set(record["fit_ids"])
    assert set(items.loc[items["eval_set"] == "holdout", "item_id"]) == set(record["holdout_ids"])
    settings = json.loads((workspace / "experiment.json").read_text())
    assert settings["eval_file"].endswith("eval_fit.parquet")
    assert settings["test_eval_files"]["holdout"].endswith("eval_holdout.parquet")
