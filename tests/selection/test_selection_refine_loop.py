"""The refine loop's stopping rule, on runs from elsewhere (no fine-tuning): losses follow a
planted line in the subset means, so a rule fitted on them predicts a new subset within the
seed noise, or, when the new subsets break the line, does not."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from evidence_data import evidence_workspace, planted_runs

from instructmining.selection.refine import refine_workspace, refit
from instructmining.storage import read_parquet, write_parquet

N = 20


def _experiment(ws, penalty: float = 0.0):
    """Write planted runs for every subset; refine subsets get `penalty` added to their log loss."""

    def run() -> None:
        subsets = read_parquet(ws / "subsets.parquet")
        runs = planted_runs(subsets, read_parquet(ws / "indicators.parquet"))
        refined = runs["subset_id"].str.startswith("refine")
        runs.loc[refined, "eval_loss"] *= math.exp(penalty)
        write_parquet(runs, ws / "runs.parquet")

    return run


@pytest.fixture
def ws(tmp_path):
    return evidence_workspace(tmp_path / "ws")


def test_the_loop_stops_early_when_prediction_and_measurement_agree(ws):
    said: list[str] = []
    done = refine_workspace(ws, 3, N, _experiment(ws), lambda: refit(ws), say=said.append)
    table = done.table
    assert table["round"].tolist() == [1] and bool(table["agree"].iloc[0]) is True
    row = table.iloc[0]
    assert abs(row["measured"] - row["predicted"]) <= row["seed_noise"]
    assert "stopped early" in done.reason and "agree within the seed noise" in done.reason
    # A rerun asking for more rounds stops at once for the same reason, adding nothing.
    again = refine_workspace(ws, 3, N, _experiment(ws), lambda: refit(ws), say=said.append)
    assert len(again.table) == 1 and "stopped early" in again.reason


def test_the_loop_goes_on_while_the_measurement_disagrees(ws):
    done = refine_workspace(ws, 2, N, _experiment(ws, 0.05), lambda: refit(ws), say=print)
    table = done.table
    assert table["round"].tolist() == [1, 2] and not table["agree"].astype(bool).any()
    assert table["subset_id"].tolist() == ["refine1", "refine2"]
    assert math.isnan(table["moved"].iloc[0]) and 0 <= table["moved"].iloc[1] <= 1
    assert done.reason == "2 round(s) done"
    subsets = pd.unique(read_parquet(ws / "subsets.parquet")["subset_id"])
    assert list(subsets[-2:]) == ["refine1", "refine2"]
    assert np.isfinite(table["measured"]).all()
