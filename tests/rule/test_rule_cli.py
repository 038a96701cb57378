"""The fit table from a workspace, and `instructmining fit` end to end on synthetic runs."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from rule_synthetic import TRUE, write_workspace

from instructmining.cli import main
from instructmining.errors import UserError
from instructmining.rule import load_fit_table, load_rule


@pytest.fixture
def ws(tmp_path):
    return write_workspace(tmp_path / "ws")


def test_fit_table_averages_seeds_and_drops_base_and_failed_runs(ws):
    data = load_fit_table(ws)
    t = data.table
    assert len(t) == 30 and "__base__" not in set(t["subset_id"])
    assert (t["n_seeds"] == 2).all()
    runs = pd.read_parquet(ws / "runs.parquet")
    s0 = runs[(runs.subset_id == "s000") & (runs.status == "ok")]["eval_loss"]
    row = t.set_index("subset_id").loc["s000"]
    assert row["log_eval_loss"] == pytest.approx(np.log(s0.mean()))
    # Subset means computed from the per-example table.
    subsets = pd.read_parquet(ws / "subsets.parquet")
    ind = pd.read_parquet(ws / "indicators.parquet").set_index("id")
    ids = subsets[subsets.subset_id == "s000"]["id"]
    assert row["reward"] == pytest.approx(ind.loc[ids, "reward"].mean())
    assert set(data.columns) == {"reward", "mtld", "ppl", "output_len"}
    p = data.provenance
    assert p["eval_hash"] == "eval1" and p["config_hash"] == "cfg1" and p["n_runs"] == 60
    assert p["base_eval_loss"] == 9.0 and set(p["inputs"]) == {"runs", "indicators", "subsets"}


def test_stored_subset_means_are_used_when_present(ws):
    load = load_fit_table(ws).table
    means = load[["subset_id", *TRUE]].copy()
    means.to_parquet(ws / "subset_indicators.parquet", index=False)
    data = load_fit_table(ws)
    assert set(data.columns) == set(TRUE)
    assert "subset_indicators" in data.provenance["inputs"]


def test_definitions_read_from_indicator_table_metadata(ws):
    table = pq.read_table(ws / "indicators.parquet")
    meta = {b"indicator_definitions": json.dumps({"reward": {"model": "rm-x", "version": 2}})}
    pq.write_table(table.replace_schema_metadata(meta), ws / "indicators.parquet")
    data = load_fit_table(ws)
    assert data.definitions["reward"] == {"column": "reward", "model": "rm-x", "version": 2}
    assert data.definitions["mtld"] == {"column": "mtld"}


def test_mixed_evaluation_sets_need_a_choice(ws):
    runs = pd.read_parquet(ws / "runs.parquet")
    other = runs[runs.subset_id != "__base__"].assign(eval_hash="eval2", eval_loss=1.0)
    pd.concat([runs, other]).to_parquet(ws / "runs.parquet", index=False)
    with pytest.raises(UserError, match="eval_hashs .*--eval-hash"):
        load_fit_table(ws)
    assert len(load_fit_table(ws, eval_hash="eval1").table) == 30


def test_fit_command_writes_the_rule(ws, capsys):
    assert main(["fit", str(ws), "--max-indicators", "2"]) == 0
    out = capsys.readouterr().out
    assert "Coefficients" in out and "Ablation" in out and "gbm" in out
    assert "permutation test: p 0.00498 for CV R²" in out and "200 shuffles" in out
    assert "CV Spearman" in out and "mixture rule (ridge of log loss on source shares)" in out
    assert "verdict: The rule predicts fine-tuning loss better than chance" in out
    data = json.loads((ws / "rule.json").read_text())
    assert data["fit"]["permutation_p"] == pytest.approx(1 / 201) and data["fit"]["cv_spearman"]
    assert set(data["mixture"]["best_mixture"]) == {"alpaca", "dolly", "lima"}
    assert list((ws / "cache" / "permutations").glob("*.json"))  # cached
    assert {d["column"] for d in data["indicators"]} == set(TRUE)
    assert data["model"] == "ols" and data["eval_hash"] == "eval1" and data["n_runs"] == 60
    assert set(data["inputs"]) == {"runs", "indicators", "subsets"}
    assert {"r2", "adj_r2", "f", "f_p", "aic", "bic", "cv_r2"} <= set(data["fit"])
    assert data["fit"]["n_combinations"] == 4 + 6
    assert {"raw", "standardised", "se", "p", "ci95", "vif"} <= set(data["coefficients"]["mtld"])
    assert [m["model"] for m in data["model_comparison"]] == ["ols", "ridge", "lasso", "gbm"]
    rule = load_rule(ws / "rule.json")
    for column, truth in TRUE.items():
        assert rule.coefficients[column] == pytest.approx(truth, rel=0.1)


def test_fit_command_gbm_rule_applies(ws):
    out = ws / "gbm.json"
    assert main(["fit", str(ws), "-o", str(out), "--model", "gbm"]) == 0
    rule = load_rule(out)
    assert rule.model == "gbm" and rule.ensemble is not None
    table = load_fit_table(ws).table
    assert np.isfinite(rule.predict(table)).all()


def test_fit_command_errors_exit_2_with_one_line(ws, capsys):
    runs = pd.read_parquet(ws / "runs.parquet")
    runs[runs.subset_id.isin(["s000", "s001", "s002", "s003"])].to_parquet(
        ws / "runs.parquet", index=False
    )
    assert main(["fit", str(ws)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: 4 subsets") and "too few" in err and err.count("\n") == 1
    assert not (ws / "rule.json").exists()
    assert main(["fit", str(ws / "missing")]) == 2
    assert "runs.parquet: no such file" in capsys.readouterr().err
    assert main(["fit", str(ws), "--exact"]) == 2


def test_fit_rejects_nonpositive_losses(ws):
    runs = pd.read_parquet(ws / "runs.parquet")
    runs.loc[0, "eval_loss"] = 0.0
    pq.write_table(pa.Table.from_pandas(runs), ws / "runs.parquet")
    with pytest.raises(UserError, match="positive"):
        load_fit_table(ws)
