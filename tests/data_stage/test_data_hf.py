"""Hugging Face datasets in: a `save_to_disk` folder, a folder of parquet or json shards and an
`hf://datasets/...` id build into the same pool as the JSON file they hold."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from data_stage_paths import SAMPLES

from instructmining.data.hf import hub_spec

datasets = pytest.importorskip("datasets")

ALPACA = SAMPLES / "alpaca/alpaca_5000_sample.json"


def _pool(cli, tmp_path, source, *more):
    out = tmp_path / f"pool-{len(list(tmp_path.glob('pool-*')))}.parquet"
    code, stdout, stderr = cli("pool", "build", source, "-o", out, *more)
    assert code == 0, stderr
    return pd.read_parquet(out), stderr


def test_saved_dataset_and_shard_folders_build_the_same_pool(tmp_path, cli):
    records = json.loads(ALPACA.read_text())
    records.append(dict(records[0], output="  "))  # an unusable example, dropped and counted
    dataset = datasets.Dataset.from_list(records)
    saved = tmp_path / "saved" / "alpaca_5000_sample"
    dataset.save_to_disk(str(saved))
    shards = tmp_path / "shards" / "alpaca_5000_sample"
    (shards / "data").mkdir(parents=True)
    half = len(records) // 2
    dataset.select(range(half)).to_parquet(str(shards / "data" / "train-00000-of-00002.parquet"))
    dataset.select(range(half, len(records))).to_parquet(
        str(shards / "data" / "train-00001-of-00002.parquet")
    )
    lines = tmp_path / "jsonl" / "alpaca_5000_sample"
    lines.mkdir(parents=True)
    (lines / "part-0.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    splits = tmp_path / "dict" / "alpaca_5000_sample"
    datasets.DatasetDict({"train": dataset}).save_to_disk(str(splits))

    reference, _ = _pool(cli, tmp_path, ALPACA)
    for folder in (saved, shards, lines, splits):
        pool, stderr = _pool(cli, tmp_path, folder)
        pd.testing.assert_frame_equal(pool, reference)
        assert "dropped 1 unusable examples: empty response 1" in stderr


def test_a_folder_with_neither_is_one_line(tmp_path, cli):
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "readme.txt").write_text("hi")
    code, _, stderr = cli("pool", "build", tmp_path / "notes", "-o", tmp_path / "p.parquet")
    assert code == 2 and stderr.count("\n") == 1
    assert "a folder must be a dataset saved with save_to_disk" in stderr


def test_hub_ids_parse_and_fail_offline_in_one_line(tmp_path, cli, monkeypatch):
    assert hub_spec("hf://datasets/tatsu-lab/alpaca") == ("tatsu-lab/alpaca", None, "train")
    assert hub_spec("hf:/datasets/a/b@v1.0:test") == ("a/b", "v1.0", "test")
    assert hub_spec("alpaca.json") is None
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    name = "hf://datasets/nobody/no-such-set@main:train"
    code, _, stderr = cli("pool", "build", name, "-o", tmp_path / "p.parquet")
    assert code == 2 and stderr.count("\n") == 1, stderr
    assert "cannot load the Hub dataset" in stderr and "nobody/no-such-set" in stderr
