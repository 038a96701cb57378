"""`select --rule` picks inside the region the experiments covered; `--extrapolate` does not.

The planted rule is sure of its direction, and its top n lies far outside the Dirichlet subsets
it was fitted on (evidence_data). Hull membership is checked here independently of the linear
program `select` uses (a Delaunay triangulation of the tested means).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from evidence_data import COLUMNS, evidence_workspace
from scipy.spatial import Delaunay

from instructmining.cli import main
from instructmining.report.build import render_report
from instructmining.rule import Rule, load_rule
from instructmining.selection.evidence import (
    EXTRAPOLATION,
    INSIDE,
    NO_EVIDENCE,
    choose_selection,
    inside_hull,
)
from instructmining.selection.provenance import METADATA_KEY

N = 20


@pytest.fixture(scope="module")
def ws(tmp_path_factory) -> Path:
    return evidence_workspace(tmp_path_factory.mktemp("evidence") / "ws")


def _standardised(ws: Path) -> tuple[pd.DataFrame, np.ndarray]:
    """Every example's indicators and the tested subsets' means, both in pool sd units."""
    ind = pd.read_parquet(ws / "indicators.parquet").set_index("id")[COLUMNS]
    mu, sd = ind.mean(), ind.std(ddof=1)
    subsets = pd.read_parquet(ws / "subsets.parquet")
    tested = subsets.join(ind, on="id").groupby("subset_id")[COLUMNS].mean()
    return (ind - mu) / sd, ((tested - mu) / sd).to_numpy()


def _select(ws: Path, out: Path, *extra: str) -> tuple[list[str], dict]:
    rule = str(ws / "rule.json")
    args = ["select", str(ws / "pool.parquet"), "--rule", rule, "--top", str(N), "-o", str(out)]
    assert main([*args, *extra]) == 0
    ids = [json.loads(line)["id"] for line in out.read_text().splitlines()]
    meta = pq.read_schema(out.with_name(out.stem + ".scores.parquet")).metadata[METADATA_KEY]
    return ids, json.loads(meta)["evidence"]


def _top(ws: Path) -> list[str]:
    rule = load_rule(ws / "rule.json")
    ind = pd.read_parquet(ws / "indicators.parquet")
    return list(ind.assign(s=rule.predict(ind)).sort_values(["s", "id"])["id"].head(N))


def test_the_planted_optimum_is_not_selected_blind(ws, tmp_path, capsys):
    z, tested = _standardised(ws)
    top = _top(ws)
    assert Delaunay(tested).find_simplex(z.loc[top].mean().to_numpy()) < 0  # top n: outside
    ids, evidence = _select(ws, tmp_path / "inside.jsonl")
    printed = capsys.readouterr().out
    assert len(ids) == N and set(ids) != set(top)
    assert Delaunay(tested).find_simplex(z.loc[ids].mean().to_numpy()) >= 0
    assert evidence["kind"] == INSIDE and evidence["inside"] is True
    low, high = evidence["interval"]
    assert low < evidence["predicted"] < high
    assert evidence["top_predicted"] < evidence["predicted"]  # it gave up predicted loss
    nearest = np.linalg.norm(tested - z.loc[ids].mean().to_numpy(), axis=1).min()
    assert evidence["distance"] == pytest.approx(nearest)
    assert "inside the evidence" in printed and "95% prediction interval" in printed
    assert f"nearest tested subset {evidence['nearest']}" in printed


def test_extrapolate_takes_the_top_n_and_says_so_here_and_in_the_report(ws, tmp_path, capsys):
    copy = tmp_path / "ws"
    shutil.copytree(ws, copy)
    ids, evidence = _select(copy, copy / "selected.jsonl", "--extrapolate")
    printed = capsys.readouterr().out
    assert ids == _top(ws)
    assert evidence["kind"] == EXTRAPOLATION and evidence["inside"] is False
    assert "extrapolation" in printed and "outside the tested subsets' convex hull" in printed
    page = render_report(copy)
    section = page[page.index('id="refine"') :]
    assert "<b>extrapolation</b>" in section and "Extrapolation: the unconstrained top n" in section


def test_a_rule_without_evidence_falls_back_to_the_top_n_labelled(ws, tmp_path, capsys):
    fitted = load_rule(ws / "rule.json")
    bare = Rule("bare", "ols", COLUMNS, fitted.intercept, dict(fitted.coefficients))
    (tmp_path / "bare.json").write_text(json.dumps(bare.to_dict()))
    out = tmp_path / "bare.jsonl"
    args = ["select", str(ws / "pool.parquet"), "--rule", str(tmp_path / "bare.json")]
    assert main([*args, "--top", str(N), "-o", str(out)]) == 0
    assert [json.loads(line)["id"] for line in out.read_text().splitlines()] == _top(ws)
    assert NO_EVIDENCE in capsys.readouterr().out


def test_extrapolate_needs_a_rule_selector(ws, tmp_path, capsys):
    out = tmp_path / "r.jsonl"
    args = ["select", str(ws / "pool.parquet"), "--selector", "random", "--top", "5"]
    assert main([*args, "-o", str(out), "--extrapolate"]) == 2
    assert "--extrapolate" in capsys.readouterr().err and not out.exists()


def test_the_hull_test_and_a_choice_inside_agree_on_a_known_square():
    square = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    points = np.array([[0.5, 0.5], [1.0, 1.0], [1.01, 0.5], [-0.2, 0.3]])
    assert inside_hull(points, square).tolist() == [True, True, False, False]


def test_a_choice_without_enough_scored_examples_is_refused(ws):
    rule = load_rule(ws / "rule.json")
    values = pd.read_parquet(ws / "indicators.parquet").head(5)
    with pytest.raises(Exception, match="only 5 examples"):
        choose_selection(rule, values, N)
