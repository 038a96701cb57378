"""The default token limit is chosen by device, and a run says how many examples it cut."""

from __future__ import annotations

from instructmining.indicators.options import (
    MAX_LENGTH_BY_DEVICE,
    IndicatorOptions,
    default_max_length,
)


def test_default_max_length_follows_the_device():
    assert default_max_length("cpu") == MAX_LENGTH_BY_DEVICE["cpu"] == 1024
    assert default_max_length("cuda:0") == MAX_LENGTH_BY_DEVICE["cuda"] == 2048
    assert IndicatorOptions(device="cpu").max_length == 1024
    assert IndicatorOptions(device="cpu", max_length=64).max_length == 64


def test_truncation_share_is_printed(tmp_path, cli, sample_pool, tiny_model, tiny_reward_model):
    pool = tmp_path / "pool.parquet"
    sample_pool.to_parquet(pool, index=False)
    out = tmp_path / "ind.parquet"
    args = ["indicators", pool, "-o", out, "--cache-dir", tmp_path / "c", "--device", "cpu"]
    models = ["--lm", tiny_model, "--reward-model", tiny_reward_model]
    code, _, err = cli(*args, *models, "--indicators", "ppl,reward", "--max-length", "32")
    assert code == 0, err
    text = " ".join(err.split())
    n = len(sample_pool)
    assert "of examples" in text and f"of {n}) were longer than --max-length 32 tokens" in text
    assert "ppl: " in text and "reward: " in text
    code, _, err = cli(*args, *models, "--indicators", "ppl", "--max-length", "4096")
    assert code == 0 and "were cut" not in err
