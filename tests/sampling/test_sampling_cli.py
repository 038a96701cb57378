"""`instructmining sample`: writes subsets and mixtures, prints a summary, fails in one line."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq

from instructmining.data import build_pool, write_pool
from instructmining.sampling import read_design_info

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


def _design_workspace(tmp_path) -> Path:
    from design_data import synthetic_pool

    from instructmining.storage import write_parquet

    pool, indicators = synthetic_pool()
    ws = tmp_path / "ws"
    write_pool(pool, ws / "pool.parquet")
    write_parquet(indicators, ws / "indicators.parquet")
    return ws


def test_sample_d_optimal_prints_and_stores_figures_beside_dirichlet(tmp_path, cli):
    ws = _design_workspace(tmp_path)
    out = ws / "subsets.parquet"
    args = ("sample", ws / "pool.parquet", "-o", out, "--subsets", 8, "--size", 12)
    code, stdout, stderr = cli(*args, "--design", "d-optimal", "--columns", "x1,x2")
    assert code == 0, stderr
    assert "design figures over x1, x2" in stdout
    assert "d_efficiency" in stdout and "sd_x1" in stdout and "max_abs_corr" in stdout
    assert "d-optimal" in stdout and "dirichlet" in stdout
    info = pq.read_schema(ws / "subsets_mixtures.parquet").metadata[b"instructmining.design"]
    assert b'"design": "d-optimal"' in info
    code, stdout, _ = cli(*args, "--design", "spread", "--temperature", "0.5", "--mix-sources")
    assert code == 0 and "spread" in stdout
    code, stdout, _ = cli(*args)  # dirichlet with the indicators beside the pool: figures too
    assert code == 0 and "this design" in stdout


def test_sample_design_errors_are_one_line(tmp_path, cli):
    ws = _design_workspace(tmp_path)
    out = ws / "subsets.parquet"
    args = ("sample", ws / "pool.parquet", "-o", out, "--subsets", 4, "--size", 8)
    code, _, stderr = cli(*args, "--design", "d-optimal", "--columns", "x1,zz")
    assert code == 2 and stderr.startswith("error: indicator column(s) zz not in")
    assert len(stderr.strip().splitlines()) == 1
    code, _, stderr = cli(*args, "--design", "spread", "--indicators-file", ws / "none.parquet")
    assert (
        code == 2 and "none.parquet: no such file (the spread design needs indicators: " in stderr
    )
    code, _, stderr = cli(*args, "--design", "best")
    assert code == 2 and "unknown design 'best'" in stderr
    assert not out.exists()


def test_design_add_appends_and_prints(tmp_path, cli):
    ws = _design_workspace(tmp_path)
    out = ws / "subsets.parquet"
    cli("sample", ws / "pool.parquet", "-o", out, "--subsets", 6, "--size", 10)
    code, stdout, stderr = cli("design", ws, "--add", 3)
    assert code == 0, stderr
    assert "6 subsets so far (0 with finished runs); added 3: s006, s007, s008" in stdout
    assert "dirichlet + sequential d" in stdout
    assert pq.read_table(out).to_pandas()["subset_id"].nunique() == 9
    code, stdout, _ = cli("design", ws, "--add", 2, "--criterion", "i")
    assert code == 0 and "added 2: s009, s010" in stdout
    code, _, stderr = cli("design", ws, "--add", 2, "--criterion", "x")
    assert code == 2 and stderr.startswith("error: unknown criterion 'x'")
    code, _, stderr = cli("design", tmp_path / "empty", "--add", 2)
    assert code == 2 and "pool.parquet: no such file" in stderr


def test_sample_selections_prints_and_stores_which_subsets_are_random(tmp_path, cli):
    ws = _design_workspace(tmp_path)
    out = ws / "subsets.parquet"
    args = ("sample", ws / "pool.parquet", "-o", out, "--subsets", 12, "--size", 12)
    code, stdout, stderr = cli(*args, "--design", "selections", "--columns", "x1,x2")
    assert code == 0, stderr
    assert "design figures over x1, x2" in stdout and "d_efficiency" in stdout
    assert "selections" in stdout and "dirichlet" in stdout
    assert (
        "10 selections (top 12 under a random weighting of x1, x2) and 2 random subsets: "
        "s000, s006" in stdout
    )
    info = read_design_info(ws / "subsets_mixtures.parquet")
    assert info["design"] == "selections"
    assert [sid for sid, o in info["origins"].items() if o["kind"] == "random"] == ["s000", "s006"]
    code, stdout, stderr = cli("design", ws, "--add", 3)
    assert code == 0, stderr
    assert "12 subsets so far (0 with finished runs); added 3: s012, s013, s014" in stdout
    assert "12 selections (top 12 under a random weighting of x1, x2) and 3 random" in stdout
    info = read_design_info(ws / "subsets_mixtures.parquet")
    assert info["design"] == "selections" and len(info["origins"]) == 15


def test_sample_selections_bad_input_is_one_line_and_writes_nothing(tmp_path, cli):
    from instructmining.storage import read_parquet, write_parquet

    ws = _design_workspace(tmp_path)
    out = ws / "subsets.parquet"
    args = ("sample", ws / "pool.parquet", "-o", out, "--subsets", 6, "--design", "selections")
    few = read_parquet(ws / "indicators.parquet")
    few.loc[few.index[10:], "x2"] = float("nan")
    write_parquet(few, tmp_path / "few.parquet")
    cases = [
        (("--size", 8, "--columns", "x1,zz"), "error: indicator column(s) zz not in"),
        (("--size", 500), "error: subset size 500 is larger than the 240 examples"),
        (
            ("--size", 12, "--indicators-file", tmp_path / "few.parquet"),
            "error: subset size 12 is larger than the 10 examples with a value for every",
        ),
        (("--size", 8, "--random-share", 0), "error: --random-share must be above 0 and below 1"),
        (("--size", 8, "--max-overlap", 1.5), "error: --max-overlap must be above 0 and below 1"),
        (("--size", 200, "--max-overlap", 0.6), "error: could draw only 1 of 6 subsets of 200"),
    ]
    for extra, message in cases:
        code, stdout, stderr = cli(*args, *extra)
        assert code == 2 and stderr.startswith(message), (extra, stderr)
        assert len(stderr.strip().splitlines()) == 1
    assert not out.exists() and not (ws / "subsets_mixtures.parquet").exists()
