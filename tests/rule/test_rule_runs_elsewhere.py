"""Runs made elsewhere: `fit` on a table of subset_id and eval_loss alone, `runs import` from
CSV, JSON, JSON Lines and Parquet, and runs of a resampled subset refused."""

from __future__ import annotations

import pandas as pd
import pytest
from rule_synthetic import write_workspace

from instructmining.cli import main
from instructmining.errors import UserError
from instructmining.experiments.imported import import_runs
from instructmining.experiments.records import subset_hash
from instructmining.rule import load_fit_table
from instructmining.sampling import sample_subsets


@pytest.fixture
def ws(tmp_path):
    return write_workspace(tmp_path / "ws")


def _minimal(ws) -> pd.DataFrame:
    runs = pd.read_parquet(ws / "runs.parquet")
    return runs.loc[runs["status"] == "ok", ["subset_id", "eval_loss"]].reset_index(drop=True)


def test_fit_on_subset_id_and_eval_loss_alone_equals_the_full_table(ws, tmp_path):
    full = load_fit_table(ws).table
    _minimal(ws).to_parquet(ws / "runs.parquet", index=False)
    alone = load_fit_table(ws).table
    pd.testing.assert_frame_equal(
        full.drop(columns=["seed_sd"]), alone.drop(columns=["seed_sd"]), check_like=True
    )
    assert main(["fit", str(ws), "-o", str(tmp_path / "rule.json")]) == 0


@pytest.mark.parametrize("suffix", [".csv", ".json", ".jsonl", ".parquet"])
def test_runs_import_writes_the_workspace_table_with_subset_hashes(ws, tmp_path, suffix):
    runs = _minimal(ws)
    source = tmp_path / f"runs{suffix}"
    if suffix == ".csv":
        runs.to_csv(source, index=False)
    elif suffix == ".parquet":
        runs.to_parquet(source, index=False)
    else:
        runs.to_json(source, orient="records", lines=suffix == ".jsonl")
    (ws / "runs.parquet").unlink()
    assert main(["runs", "import", str(ws), str(source)]) == 0
    stored = pd.read_parquet(ws / "runs.parquet")
    assert stored["subset_id"].tolist() == runs["subset_id"].tolist()
    assert stored["eval_loss"].tolist() == pytest.approx(runs["eval_loss"].tolist())
    subsets = pd.read_parquet(ws / "subsets.parquet")
    first = subsets.loc[subsets["subset_id"] == "s000", "id"].tolist()
    assert stored.loc[stored["subset_id"] == "s000", "subset_hash"].iloc[0] == subset_hash(first)
    assert load_fit_table(ws).provenance["n_subsets"] == 30


def test_runs_of_a_resampled_subset_are_refused(ws, tmp_path):
    runs = _minimal(ws)
    runs.to_csv(tmp_path / "runs.csv", index=False)
    import_runs(tmp_path / "runs.csv", ws)
    pool = pd.read_parquet(ws / "pool.parquet")
    resampled, _ = sample_subsets(pool, 30, 20, seed=5)
    resampled.to_parquet(ws / "subsets.parquet", index=False)
    with pytest.raises(UserError, match="run of subset s000 was trained on other examples"):
        load_fit_table(ws)


def test_runs_import_refuses_unknown_subsets_and_its_own_output(ws, tmp_path):
    runs = _minimal(ws)
    runs.loc[0, "subset_id"] = "s999"
    runs.to_csv(tmp_path / "runs.csv", index=False)
    before = (ws / "runs.parquet").read_bytes()
    with pytest.raises(UserError, match=r"1 subset id\(s\) not in .*subsets.parquet \(s999\)"):
        import_runs(tmp_path / "runs.csv", ws)
    with pytest.raises(UserError, match="this output is also an input"):
        import_runs(ws / "runs.parquet", ws)
    assert (ws / "runs.parquet").read_bytes() == before


@pytest.mark.parametrize("loss", [float("inf"), float("nan"), 0.0, -1.0])
def test_fit_refuses_losses_it_cannot_take_the_log_of(ws, loss):
    runs = _minimal(ws)
    runs.loc[3, "eval_loss"] = loss
    runs.to_parquet(ws / "runs.parquet", index=False)
    with pytest.raises(UserError, match="eval_loss must be a finite, positive number"):
        load_fit_table(ws)


def test_old_spellings_of_runs_import_and_fit_still_work_with_a_note(
    ws, tmp_path, cli, monkeypatch
):
    _minimal(ws).to_csv(tmp_path / "runs.csv", index=False)
    (ws / "runs.parquet").unlink()
    code, _, err = cli("runs", "import", tmp_path / "runs.csv", "-w", ws)
    assert code == 0, err
    assert err.splitlines() == [
        "note: -w is deprecated and goes in the next release; use the first argument (WORKSPACE)"
    ]
    (ws / "runs.parquet").unlink()
    monkeypatch.chdir(ws)  # `runs import FILE` wrote into the current folder
    code, _, err = cli("runs", "import", tmp_path / "runs.csv")
    assert code == 0 and (ws / "runs.parquet").exists(), err
    assert (
        "note: runs import FILE is deprecated and goes in the next release; use runs import WS FILE"
        in err
    )
    args = ["fit", ws, "-o", tmp_path / "rule.json", "--permutations", "4"]
    code, _, err = cli(*args, "--jobs", "1")
    assert code == 0, err
    assert "note: --jobs is deprecated and goes in the next release; use --threads" in err
    assert "threads: 1 (" in err and "from --threads" in err
