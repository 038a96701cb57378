"""`run` with a designed first sample and design rounds (the stage wiring; models not loaded)."""

from __future__ import annotations

from pathlib import Path

import pytest
from design_data import FakeLoop, synthetic_pool

from instructmining.data import write_pool
from instructmining.errors import UserError
from instructmining.pipeline.config import load_config
from instructmining.pipeline.run import Pipeline
from instructmining.sampling import read_design_info
from instructmining.storage import read_parquet, write_parquet

CONFIG = """
workspace: ws
pool:
  files:
    - {path: pool.jsonl}
experiments:
  eval: {path: eval.jsonl}
sampling: {subsets: 6, size: 10, design: d-optimal, columns: [x1, x2], rounds: 3, add: 2}
"""


def _pipeline(config, base: Path, ws: Path) -> tuple[Pipeline, FakeLoop]:
    """A pipeline on the synthetic pool and indicators whose experiments and fits are faked."""
    pool, indicators = synthetic_pool()
    write_pool(pool, ws / "pool.parquet")
    write_parquet(indicators, ws / "indicators.parquet")
    pipeline = Pipeline(config, base, ws)
    loop = FakeLoop(ws, [0.1, 0.2, 0.3])
    pipeline.experiments, pipeline.fit = loop.experiment, loop.fit
    return pipeline, loop


def test_run_samples_the_configured_design_and_runs_rounds(tmp_path: Path, capsys) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG, encoding="utf-8")
    config, base = load_config(path)
    assert config.sampling.design == "d-optimal" and config.sampling.rounds == 3
    pipeline, loop = _pipeline(config, base, tmp_path / "ws")
    ws = pipeline.ws.root
    with pipeline.ws.lock():
        pipeline.subsets()
        info = read_design_info(ws / "subsets_mixtures.parquet")
        assert info["design"] == "d-optimal" and info["columns"] == ["x1", "x2"]
        assert info["figures"]["d_efficiency"] > info["dirichlet"]["d_efficiency"]
        assert "d_efficiency" in capsys.readouterr().err
        pipeline.subsets()
        assert "up to date" in capsys.readouterr().err
        loop.experiment()
        loop.fit()
        pipeline.rounds()
    rounds = read_parquet(ws / "rounds.parquet")
    assert rounds["subsets"].tolist() == [6, 8, 10]
    assert read_parquet(ws / "subsets.parquet")["subset_id"].nunique() == 10


def test_run_keeps_todays_dirichlet_subsets_by_default(tmp_path: Path) -> None:
    from instructmining.sampling import sample_subsets

    path = tmp_path / "config.yaml"
    path.write_text(CONFIG.replace("design: d-optimal, ", ""), encoding="utf-8")
    config, base = load_config(path)
    assert config.sampling.design == "dirichlet"
    ws = tmp_path / "ws"
    pool, indicators = synthetic_pool()
    write_pool(pool, ws / "pool.parquet")
    write_parquet(indicators, ws / "indicators.parquet")
    pipeline = Pipeline(config, base, ws)
    with pipeline.ws.lock():
        pipeline.subsets()
    expected, _ = sample_subsets(read_parquet(ws / "pool.parquet"), 6, 10, 0)
    assert read_parquet(ws / "subsets.parquet").equals(expected)
    info = read_design_info(ws / "subsets_mixtures.parquet")
    assert info["figures"] == info["dirichlet"]


def test_run_samples_a_selections_design_and_its_rounds_add_selections(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    settings = "design: selections, random_share: 0.25, max_overlap: 0.6, temperature: 0.5, "
    path.write_text(CONFIG.replace("design: d-optimal, ", settings), encoding="utf-8")
    config, base = load_config(path)
    assert config.sampling.design == "selections" and config.sampling.random_share == 0.25
    pipeline, loop = _pipeline(config, base, tmp_path / "ws")
    ws = pipeline.ws.root
    with pipeline.ws.lock():
        pipeline.subsets()
        info = read_design_info(ws / "subsets_mixtures.parquet")
        assert info["design"] == "selections" and info["columns"] == ["x1", "x2"]
        assert (info["random_share"], info["max_overlap"], info["temperature"]) == (0.25, 0.6, 0.5)
        kinds = [o["kind"] for o in info["origins"].values()]
        assert kinds.count("random") == 2 and len(kinds) == 6  # 6 x 0.25 rounded half up
        loop.experiment()
        loop.fit()
        pipeline.rounds()
    info = read_design_info(ws / "subsets_mixtures.parquet")
    assert info["design"] == "selections" and len(info["origins"]) == 10
    assert [o["kind"] for o in info["origins"].values()].count("random") == 3  # 10 x 0.25


def test_the_yaml_checks_the_selections_settings(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    for bad, field in (("random_share: 0", "random_share"), ("max_overlap: 1.2", "max_overlap")):
        path.write_text(CONFIG.replace("design: d-optimal", f"design: selections, {bad}"))
        with pytest.raises(UserError, match=rf"sampling\.{field}"):
            load_config(path)
    path.write_text(CONFIG.replace("design: d-optimal", "design: best"), encoding="utf-8")
    with pytest.raises(UserError, match="selections"):
        load_config(path)
    # The selections settings decide only a selections design: another design's stage hash,
    # and so its existing workspaces, are as they were before the settings existed.
    path.write_text(CONFIG, encoding="utf-8")
    settings = load_config(path)[0].sampling.design_settings()
    assert "random_share" not in settings and "max_overlap" not in settings
    path.write_text(CONFIG.replace("d-optimal", "selections"), encoding="utf-8")
    settings = load_config(path)[0].sampling.design_settings()
    assert settings["random_share"] == pytest.approx(1 / 6) and settings["max_overlap"] == 0.5
