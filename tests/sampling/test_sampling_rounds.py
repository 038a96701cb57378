"""Design rounds: add, run, refit until CV R² stalls or the run budget is spent; resumable."""

from __future__ import annotations

import pandas as pd
import pytest
from design_data import synthetic_workspace

from instructmining.rule import Rule
from instructmining.sampling.rounds import run_rounds
from instructmining.storage import read_parquet, write_json, write_parquet


class _FakeLoop:
    """Stands in for experiment and fit: every subset 'runs'; the fit's CV R² follows a script."""

    def __init__(self, ws, scores: list[float], kill_at: int | None = None) -> None:
        self.ws, self.scores, self.kill_at, self.fits = ws, scores, kill_at, 0

    def experiment(self) -> None:
        ids = read_parquet(self.ws / "subsets.parquet")["subset_id"].unique()
        runs = pd.DataFrame({"subset_id": ids, "status": "ok", "eval_loss": 1.0})
        write_parquet(runs, self.ws / "runs.parquet")
        if self.kill_at is not None and len(ids) >= self.kill_at:
            self.kill_at = None
            raise KeyboardInterrupt

    def fit(self) -> None:
        cv_r2 = self.scores[min(self.fits, len(self.scores) - 1)]
        self.fits += 1
        rule = Rule("rule", "ols", ["x1"], 0.0, {"x1": 0.1}, info={"fit": {"cv_r2": cv_r2}})
        write_json(rule.to_dict(), self.ws / "rule.json")


def _first_round(ws, loop: _FakeLoop) -> None:
    loop.experiment()
    loop.fit()


def test_rounds_stop_when_cv_r2_stops_improving_and_keep_each_fit(tmp_path):
    ws = synthetic_workspace(tmp_path / "ws")
    loop = _FakeLoop(ws, [0.1, 0.3, 0.25])
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
    loop = _FakeLoop(ws, [0.1, 0.2, 0.3, 0.4])
    _first_round(ws, loop)
    assert run_rounds(ws, 9, 3, loop.experiment, loop.fit, max_runs=14)["subsets"].tolist() == [
        8,
        11,
        14,
    ]
    other = synthetic_workspace(tmp_path / "other")
    loop = _FakeLoop(other, [0.1, 0.2, 0.3, 0.4])
    _first_round(other, loop)
    assert run_rounds(other, 2, 3, loop.experiment, loop.fit)["round"].tolist() == [1, 2]


def test_rounds_resume_after_a_kill_without_adding_twice(tmp_path):
    ws = synthetic_workspace(tmp_path / "ws")
    loop = _FakeLoop(ws, [0.1, 0.2, 0.3], kill_at=10)
    _first_round(ws, loop)
    with pytest.raises(KeyboardInterrupt):
        run_rounds(ws, 3, 2, loop.experiment, loop.fit)
    killed = read_parquet(ws / "rounds.parquet")
    assert killed["status"].tolist() == ["fitted", "designed"]
    table = run_rounds(ws, 3, 2, loop.experiment, loop.fit)
    assert table["subsets"].tolist() == [8, 10, 12]
    assert table["status"].tolist() == ["fitted"] * 3
