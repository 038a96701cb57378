"""`instructmining sample`: writes subsets and mixtures, prints a summary, fails in one line."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq

from instructmining.data import build_pool, write_pool

SAMPLES = Path(__file__).resolve().parents[1] / "data"


def _pool(tmp_path) -> Path:
    files = [
        SAMPLES / "alpaca/alpaca_5000_sample.json",
        SAMPLES / "dolly/alpagasus_dolly_3k_sample.json",
        SAMPLES / "lima/lima_sample.json",
    ]
    path = tmp_path / "ws" / "pool.parquet"
    write_pool(build_pool(files).pool, path)
    return path


def test_sample_writes_subsets_and_mixtures(tmp_path, cli):
    pool = _pool(tmp_path)
    out = tmp_path / "ws" / "subsets.parquet"
    code, stdout, _ = cli("sample", pool, "-o", out, "--subsets", 6, "--size", 40, "--seed", 2)
    assert code == 0
    subsets = pq.read_table(out).to_pandas()
    mixtures = pq.read_table(tmp_path / "ws" / "subsets_mixtures.parquet").to_pandas()
    assert subsets.groupby("subset_id").size().tolist() == [40] * 6
    assert list(mixtures.columns) == [
        "subset_id",
        "alpaca_5000_sample",
        "alpagasus_dolly_3k_sample",
        "lima_sample",
    ]
    assert "6 subsets of 40" in stdout and "lima_sample" in stdout and "subsets_mixtures" in stdout
    cli("sample", pool, "-o", tmp_path / "again.parquet", "--subsets", 6, "--size", 40, "--seed", 2)
    assert pq.read_table(tmp_path / "again.parquet").equals(pq.read_table(out))


def test_sample_errors_leave_no_output(tmp_path, cli):
    pool = _pool(tmp_path)
    out = tmp_path / "ws" / "subsets.parquet"
    code, _, stderr = cli("sample", pool, "-o", out, "--subsets", 2, "--size", 1000)
    assert code == 2
    assert stderr.startswith("error: subset size 1000 is larger than the 230 examples")
    code, _, stderr = cli("sample", pool, "-o", out, "--subsets", 2, "--size", 5, "--sources", "x")
    assert code == 2 and "unknown source(s) x" in stderr
    code, _, stderr = cli("sample", pool, "-o", out, "--subsets", 0, "--size", 5)
    assert code == 2 and "at least 1" in stderr
    assert not out.exists() and not (tmp_path / "ws" / "subsets_mixtures.parquet").exists()
