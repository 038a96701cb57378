"""A user's own tables with integer subset ids (pandas' default) fit like text ids, in the
subsets table, the runs table and `runs import`; a run naming a subset with no members says so
by its id."""

from __future__ import annotations

import pandas as pd
import pytest
from rule_synthetic import write_workspace

from instructmining.cli import main
from instructmining.errors import UserError
from instructmining.rule import load_fit_table


@pytest.fixture
def ws(tmp_path):
    return write_workspace(tmp_path / "ws")


def _as_integers(ws, table: str, text: bool = False) -> None:
    """Rewrite WS/table's subset ids s000.. as the integers 0.. (an int64 column), or with
    `text` as their digits ("0", a string column)."""
    frame = pd.read_parquet(ws / table)
    frame["subset_id"] = frame["subset_id"].map(lambda s: int(s[1:]) if s.startswith("s") else s)
    if table == "runs.parquet":  # the base model's row would keep the column text
        frame = frame[frame["subset_id"].map(lambda s: isinstance(s, int))]
    frame["subset_id"] = frame["subset_id"].astype(str if text else "int64")
    frame.to_parquet(ws / table, index=False)


@pytest.mark.parametrize("runs_as_text", [True, False])
def test_fit_takes_integer_subset_ids(ws, tmp_path, runs_as_text):
    before = load_fit_table(ws).table
    _as_integers(ws, "subsets.parquet")
    _as_integers(ws, "runs.parquet", text=runs_as_text)
    assert pd.api.types.is_integer_dtype(pd.read_parquet(ws / "subsets.parquet")["subset_id"])
    after = load_fit_table(ws).table
    assert len(after) == len(before) == 30
    assert sorted(after["log_eval_loss"]) == pytest.approx(sorted(before["log_eval_loss"]))
    assert main(["fit", str(ws), "-o", str(tmp_path / "rule.json")]) == 0


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".jsonl"])
def test_runs_import_takes_integer_ids_against_integer_subsets(ws, tmp_path, suffix):
    _as_integers(ws, "subsets.parquet")
    _as_integers(ws, "runs.parquet")
    runs = pd.read_parquet(ws / "runs.parquet")
    runs = runs.loc[runs["status"] == "ok", ["subset_id", "eval_loss"]]
    source = tmp_path / f"runs{suffix}"
    if suffix == ".csv":
        runs.to_csv(source, index=False)
    elif suffix == ".parquet":
        runs.to_parquet(source, index=False)
    else:
        runs.to_json(source, orient="records", lines=True)
    (ws / "runs.parquet").unlink()
    assert main(["runs", "import", str(source), "-w", str(ws)]) == 0
    stored = pd.read_parquet(ws / "runs.parquet")
    assert stored["subset_hash"].notna().all()
    assert load_fit_table(ws).provenance["n_subsets"] == 30


def test_a_subset_without_members_is_named_with_the_cause(ws, tmp_path, capsys):
    _as_integers(ws, "subsets.parquet")
    subsets = pd.read_parquet(ws / "subsets.parquet")
    subsets[subsets["subset_id"] != 7].to_parquet(ws / "subsets.parquet", index=False)
    _as_integers(ws, "runs.parquet")
    with pytest.raises(UserError) as caught:
        load_fit_table(ws)
    message = str(caught.value)
    assert "1 of 30 subset(s) with runs have no members" in message
    assert "(7)" in message and "subsets.parquet does not hold" in message
    assert main(["fit", str(ws), "-o", str(tmp_path / "rule.json")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "(7)" in err[0]
    assert not (tmp_path / "rule.json").exists()


def test_subset_examples_outside_the_pool_name_their_subset():
    from instructmining.indicators import subset_means

    indicators = pd.DataFrame({"id": ["a", "b"], "x": [1.0, 2.0]})
    subsets = pd.DataFrame({"subset_id": [1, 1, 2], "id": ["a", "b", "zz"]})
    with pytest.raises(UserError, match=r"of subset\(s\) 2 are not in the pool's indicator"):
        subset_means(indicators, subsets)
