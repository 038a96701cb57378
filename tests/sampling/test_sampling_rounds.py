"""Design rounds: add, run, refit until CV R² stalls or the run budget is spent; resumable."""

from __future__ import annotations

import pytest
from design_data import FakeLoop, synthetic_workspace

from instructmining.sampling.rounds import run_rounds
from instructmining.storage import read_parquet


def _first_round(ws, loop: FakeLoop) -> None:
    loop.experiment()
    loop.fit()


def test_rounds_stop_when_cv_r2_stops_improving_and_keep_each_fit(tmp_path):
    ws = synthetic_workspace(tmp_path / "ws")
    loop = FakeLoop(ws, [0.1, 0.3, 0.25])
    _first_round(ws, loop)
    table = run_rounds(ws, 5, 2, loop.experiment, loop.fit)
    assert table["round"].tolist() == [1, 2, 3]
    assert table["subsets"].tolist() == [8, 10, 12]
    assert table["cv_r2"].tolist() == [0.1, 0.3, 0.25]
    assert (table["status"] == "fitted").all()
    for number in (1, 2, 3):
        assert (ws / "rules" / f"round{number}.json").exists()
    assert read_parquet(ws / "rounds.parquet").to_dict("list") == table.to_dict("list")


def test_rounds_stop_at_the_run_budget_and_the_round_count(tmp_path):
    ws = synthetic_workspace(tmp_path / "ws")
    loop = FakeLoop(ws, [0.1, 0.2, 0.3, 0.4])
    _first_round(ws, loop)
    assert run_rounds(ws, 9, 3, loop.experiment, loop.fit, max_runs=14)["subsets"].tolist() == [
        8,
        11,
        14,
    ]
    other = synthetic_workspace(tmp_path / "other")
    loop = FakeLoop(other, [0.1, 0.2, 0.3, 0.4])
    _first_round(other, loop)
    assert run_rounds(other, 2, 3, loop.experiment, loop.fit)["round"].tolist() == [1, 2]


def test_rounds_resume_after_a_kill_without_adding_twice(tmp_path):
    ws = synthetic_workspace(tmp_path / "ws")
    loop = FakeLoop(ws, [0.1, 0.2, 0.3], kill_at=10)
    _first_round(ws, loop)
    with pytest.raises(KeyboardInterrupt):
        run_rounds(ws, 3, 2, loop.experiment, loop.fit)
    killed = read_parquet(ws / "rounds.parquet")
    assert killed["status"].tolist() == ["fitted", "designed"]
    table = run_rounds(ws, 3, 2, loop.experiment, loop.fit)
    assert table["subsets"].tolist() == [8, 10, 12]
    assert table["status"].tolist() == ["fitted"] * 3
