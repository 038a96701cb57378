"""`instructmining indicators` end to end: list, compute, subset means, errors as one line."""

from __future__ import annotations

import pandas as pd

from instructmining.storage import read_parquet


def test_list_shows_every_indicator_with_its_model(cli):
    code, out, _ = cli("indicators", "--list")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["name", "columns", "scores", "model", "available", "offline"]
    by_name = {line.split()[0]: line for line in lines[1:]}
    assert "last response" in by_name["ppl"] and "whole conversation" in by_name["knn"]
    assert "bundled (installed)" in by_name["ppl"]
    assert "no model needed" in by_name["mtld"]
    assert "OpenAssistant/oasst-rm-2.1-pythia-1.4b-epoch-2.5" in by_name["reward"]


def test_compute_then_subset_means(cli, sample_pool, tmp_path):
    pool_path, out = tmp_path / "pool.parquet", tmp_path / "indicators.parquet"
    sample_pool.to_parquet(pool_path)
    code, stdout, stderr = cli("indicators", pool_path, "-o", out, "--indicators", "mtld,length")
    assert code == 0, stderr
    table = read_parquet(out)
    assert list(table.columns) == ["id", "input_len", "output_len", "mtld"]
    assert len(table) == len(sample_pool) and "wrote 33 rows" in stdout
    assert "computed" in stderr and "mean" in stderr  # run summary
    assert (tmp_path / "cache" / "indicators.sqlite").exists()  # WS/cache by default

    subsets = pd.DataFrame({"subset_id": [0] * 5 + [1] * 5, "id": list(sample_pool.id[:10])})
    subsets.to_parquet(tmp_path / "subsets.parquet")
    means_path = tmp_path / "subset_indicators.parquet"
    code, _, stderr = cli(
        "indicators", pool_path, "-o", means_path, "--indicators", "mtld,length",
        "--subsets-file", tmp_path / "subsets.parquet",
    )  # fmt: skip
    assert code == 0, stderr
    means = read_parquet(means_path)
    assert list(means.columns) == ["subset_id", "input_len", "output_len", "mtld"]
    assert means["mtld"].iloc[0] == table["mtld"].iloc[:5].mean()


def test_unknown_indicator_and_unloadable_model_exit_2_with_one_line(cli, sample_pool, tmp_path):
    pool_path = tmp_path / "pool.parquet"
    sample_pool.head(3).to_parquet(pool_path)
    out = tmp_path / "o.parquet"
    code, _, err = cli("indicators", pool_path, "-o", out, "--indicators", "lenght")
    assert code == 2 and err.strip().count("\n") == 0
    assert "did you mean length?" in err
    code, _, err = cli(
        "indicators", pool_path, "-o", out, "--indicators", "reward",
        "--reward-model", "nobody/no-such-reward-model",
    )  # fmt: skip
    assert code == 2 and err.strip().count("\n") == 0, err
    assert err.startswith("error: cannot load model 'nobody/no-such-reward-model'")
    code, _, err = cli(
        "indicators", pool_path, "-o", out, "--indicators", "ppl", "--lm", tmp_path / "missing",
    )  # fmt: skip
    assert code == 2 and "no such file or folder" in err and err.strip().count("\n") == 0
    assert not out.exists()
