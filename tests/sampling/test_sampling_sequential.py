"""`add_subsets`: appends only new subsets, improves the design, resumes after a kill."""

from __future__ import annotations

import itertools
import shutil

import numpy as np
import pandas as pd
import pytest
from design_data import jaccard, members, recomputed_top, synthetic_workspace

from instructmining.errors import UserError
from instructmining.experiments import preset, run_experiments
from instructmining.experiments import records as run_records
from instructmining.rule import Rule
from instructmining.sampling import add_subsets, origins_table, read_design_info
from instructmining.sampling import designs as designs_module
from instructmining.sampling.designs import subset_means
from instructmining.sampling.spread import indicator_space
from instructmining.storage import read_parquet, write_json


def _contents(subsets: pd.DataFrame) -> pd.Series:
    return subsets.groupby("subset_id", sort=False)["id"].apply(lambda s: tuple(sorted(s)))


def test_add_appends_new_subsets_and_raises_the_criterion(tmp_path):
    ws = synthetic_workspace(tmp_path / "ws")
    before = read_parquet(ws / "subsets.parquet")
    added = add_subsets(ws, 4)
    after = read_parquet(ws / "subsets.parquet")
    assert added.new_ids == ["s008", "s009", "s010", "s011"]
    assert after.iloc[: len(before)].equals(before)  # old subsets untouched, in order
    new = _contents(after)
    assert new.nunique() == 12 and (after.groupby("subset_id").size() == 12).all()
    assert after.groupby("subset_id")["id"].nunique().eq(12).all()
    info = read_design_info(ws / "subsets_mixtures.parquet")
    assert info["n_subsets"] == 12 and info["design"] == "dirichlet + sequential d"
    old_info_efficiency = info["dirichlet"]["d_efficiency"]  # Dirichlet design of 12 subsets
    assert info["figures"]["d_efficiency"] > 2 * old_info_efficiency
    mixtures = read_parquet(ws / "subsets_mixtures.parquet")
    assert mixtures["subset_id"].tolist() == list(dict.fromkeys(after["subset_id"]))
    assert np.allclose(mixtures.drop(columns="subset_id").sum(axis=1), 1.0)


def test_add_is_deterministic_and_new_candidates_each_round(tmp_path):
    first = synthetic_workspace(tmp_path / "a")
    second = synthetic_workspace(tmp_path / "b")
    add_subsets(first, 3)
    add_subsets(second, 3)
    assert read_parquet(first / "subsets.parquet").equals(read_parquet(second / "subsets.parquet"))
    again = add_subsets(first, 3)
    assert again.new_ids == ["s011", "s012", "s013"]
    assert _contents(read_parquet(first / "subsets.parquet")).nunique() == 14


def test_add_resumes_after_a_kill_without_adding_twice(tmp_path, monkeypatch):
    reference = synthetic_workspace(tmp_path / "reference")
    add_subsets(reference, 3)
    ws = synthetic_workspace(tmp_path / "ws")
    before = (ws / "subsets.parquet").read_bytes()
    real_write = designs_module.write_parquet

    def killed_at_subsets(table, path):
        if path.name == "subsets.parquet":
            raise KeyboardInterrupt  # the mixtures table is written, the subsets not yet
        real_write(table, path)

    monkeypatch.setattr(designs_module, "write_parquet", killed_at_subsets)
    with pytest.raises(KeyboardInterrupt):
        add_subsets(ws, 3)
    assert (ws / "subsets.parquet").read_bytes() == before
    assert not list(ws.glob(".*.tmp"))
    monkeypatch.setattr(designs_module, "write_parquet", real_write)
    add_subsets(ws, 3)
    assert read_parquet(ws / "subsets.parquet").equals(read_parquet(reference / "subsets.parquet"))
    assert read_parquet(ws / "subsets_mixtures.parquet").equals(
        read_parquet(reference / "subsets_mixtures.parquet")
    )


class _RecordingExecutor:
    """Records the runs asked for; each one 'fails' so no model is loaded."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def map(self, fn, tasks):
        for task in tasks:
            self.asked.append(task.subset_id)
            yield task, RuntimeError("not run in this test")


def test_experiment_runs_only_the_added_subsets(tmp_path):
    ws = synthetic_workspace(tmp_path / "ws")
    eval_file = tmp_path / "eval.jsonl"
    eval_file.write_text('{"instruction": "q", "output": "a"}\n', encoding="utf-8")
    config = preset("cpu-small")
    first = _RecordingExecutor()
    run_experiments(ws, eval_file, config, executor=first, progress=False)
    assert len(first.asked) == 9  # the base model's run and 8 subsets
    # Mark every run so far finished, as a completed experiment would have.
    folder = next((ws / "runs").iterdir())
    for path in folder.glob("*.json"):
        record = run_records.read_record(path)
        run_records.write_record(path, {**record, "status": "ok", "eval_loss": 1.0})
    add_subsets(ws, 3)
    second = _RecordingExecutor()
    run_experiments(ws, eval_file, config, executor=second, progress=False)
    assert second.asked == ["s008", "s009", "s010"]


def test_i_criterion_with_and_without_a_rule(tmp_path):
    ws = synthetic_workspace(tmp_path / "ws")
    copy = tmp_path / "copy"
    shutil.copytree(ws, copy)
    without = add_subsets(ws, 2, criterion="i")
    rule = Rule("rule", "ols", ["x1"], intercept=0.5, coefficients={"x1": -0.2})
    write_json(rule.to_dict(), copy / "rule.json")
    with_rule = add_subsets(copy, 2, criterion="i")
    assert without.new_ids == with_rule.new_ids == ["s008", "s009"]
    pool = read_parquet(copy / "pool.parquet")
    space = indicator_space(pool, read_parquet(copy / "indicators.parquet"))
    new = with_rule.design.subsets
    means = subset_means(space, new[new["subset_id"].isin(with_rule.new_ids)])
    assert (means[:, 0] > 0.3).any()  # leans towards the rule's top examples (high x1)


def test_add_to_a_selections_design_adds_selections_and_keeps_the_random_share(tmp_path):
    ws = synthetic_workspace(tmp_path / "ws", n_subsets=6, size=12, design="selections")
    copy = tmp_path / "copy"
    shutil.copytree(ws, copy)
    before = read_parquet(ws / "subsets.parquet")
    added = add_subsets(ws, 6, criterion="i")  # the criterion plays no part here
    assert added.new_ids == ["s006", "s007", "s008", "s009", "s010", "s011"]
    after = read_parquet(ws / "subsets.parquet")
    assert after.iloc[: len(before)].equals(before)
    info = read_design_info(ws / "subsets_mixtures.parquet")
    assert info["design"] == "selections" and info["n_subsets"] == 12
    assert info["figures"]["d_efficiency"] > 2 * info["dirichlet"]["d_efficiency"]
    origins = origins_table(info)
    assert origins["subset_id"].tolist() == [f"s{i:03d}" for i in range(12)]
    new = origins[origins["subset_id"].isin(added.new_ids)]
    assert (origins["kind"] == "random").sum() == 2  # 12 / 6: the add drew one more random
    assert (new["kind"] == "random").sum() == 1
    pool = read_parquet(ws / "pool.parquet")
    indicators = read_parquet(ws / "indicators.parquet")
    sets = members(after)
    for sid in new.loc[new["kind"] == "selection", "subset_id"]:
        assert sets[sid] == recomputed_top(pool, indicators, info["origins"][sid], 12)
    assert max(jaccard(a, b) for a, b in itertools.combinations(sets.values(), 2)) <= 0.5
    assert add_subsets(copy, 6).design.subsets.equals(after)  # the same add, the same subsets


def test_add_fails_in_one_line(tmp_path):
    ws = synthetic_workspace(tmp_path / "ws")
    with pytest.raises(UserError, match="`add` must be at least 1"):
        add_subsets(ws, 0)
    with pytest.raises(UserError, match=r"indicator column\(s\) zz not in"):
        add_subsets(ws, 2, columns=["zz"])
    with pytest.raises(UserError, match="unknown criterion 'q'"):
        add_subsets(ws, 2, criterion="q")
    (ws / "indicators.parquet").unlink()
    with pytest.raises(UserError, match="indicators.parquet: no such file"):
        add_subsets(ws, 2)
