"""Indicators through Ray Data on a real two-node cluster equal a local run, despite a killed actor.

Real bundled models (SmolLM2 for lengths and perplexity, MiniLM for kNN) on the 12 shortest
examples of the packaged Dolly sample, in batches of 4 so the job has several blocks to lose.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("ray", reason="Ray is an optional extra (pip install '.[ray]')")

from local_ray_cluster import LocalCluster  # noqa: E402

from instructmining.data import read_examples  # noqa: E402
from instructmining.distributed.ray_indicators import run_indicators_ray  # noqa: E402
from instructmining.indicators import IndicatorOptions, run_indicators  # noqa: E402

pytestmark = pytest.mark.slow

DOLLY = Path(__file__).resolve().parents[2] / "src/instructmining/demo/data/dolly_3k.json.gz"
NAMES = ["length", "mtld", "ppl", "knn"]
OPTIONS = IndicatorOptions(batch_size=4, k=3)


@pytest.fixture(scope="module")
def pool() -> pd.DataFrame:
    examples = read_examples(DOLLY)
    size = examples["instruction"].str.len() + examples["output"].str.len()
    return examples.loc[size.sort_values(kind="stable").index[:12]].reset_index(drop=True)


def _stored(cache_dir: Path, column: str) -> int:
    path = cache_dir / "indicators.sqlite"
    if not path.exists():
        return 0
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30) as db:
        return db.execute("SELECT COUNT(*) FROM vals WHERE col=?", (column,)).fetchone()[0]


def _kill_actor_once_ppl_started(
    cluster: LocalCluster, cache_dir: Path, killed: list[int], stop: threading.Event
) -> None:
    """SIGKILL one perplexity actor after its first batch is stored, while others remain."""
    while not stop.is_set():
        actors = cluster.processes("MapWorker(MapBatches(BatchWorker))")
        if actors and _stored(cache_dir, "ppl") > 0:
            os.kill(actors[-1], 9)
            killed.append(actors[-1])
            return
        stop.wait(0.05)


def test_ray_indicators_equal_local_with_an_actor_killed(
    ray_cluster: LocalCluster, pool: pd.DataFrame, tmp_path: Path
) -> None:
    ray_cache, local_cache = tmp_path / "ray-cache", tmp_path / "local-cache"
    killed: list[int] = []
    stop = threading.Event()
    killer = threading.Thread(
        target=_kill_actor_once_ppl_started, args=(ray_cluster, ray_cache, killed, stop)
    )
    killer.start()
    try:
        on_ray = run_indicators_ray(
            pool, NAMES, OPTIONS, ray_cache, progress=False, address=ray_cluster.address, actors=2
        )
    finally:
        stop.set()
        killer.join()
    assert killed, "no perplexity actor was running to kill"
    assert _stored(ray_cache, "ppl") == len(pool)  # every batch stored once, none lost

    local = run_indicators(pool, NAMES, OPTIONS, local_cache, progress=False)
    assert list(on_ray.table.columns) == ["id", "input_len", "output_len", "mtld", "ppl", "knn3"]
    assert list(on_ray.table["id"]) == list(local.table["id"])
    for column in on_ray.table.columns[1:]:
        ray_values = on_ray.table[column].astype("float64").to_numpy()
        local_values = local.table[column].astype("float64").to_numpy()
        assert np.array_equal(np.isnan(ray_values), np.isnan(local_values)), column
        np.testing.assert_allclose(ray_values, local_values, rtol=0, atol=1e-6, err_msg=column)
    assert on_ray.table["ppl"].notna().all() and on_ray.table["knn3"].notna().all()
    assert [s.computed for s in on_ray.stats] == [len(pool)] * len(NAMES)  # none twice
    assert [s.batches for s in on_ray.stats] == [s.batches for s in local.stats]

    # The driver filled the cache as a local run would: a local rerun over it computes nothing.
    again = run_indicators(pool, NAMES, OPTIONS, ray_cache, progress=False)
    assert [s.computed for s in again.stats] == [0] * len(NAMES)
    pd.testing.assert_frame_equal(again.table, on_ray.table)


def test_the_batch_plan_counts_tokens_without_loading_a_model(
    pool: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The driver plans with the tokenizer alone, so each actor loads its model once, to compute."""
    from instructmining.distributed.ray_indicators import _tokenize
    from instructmining.indicators import perplexity
    from instructmining.indicators.base import RunContext
    from instructmining.indicators.cache import ValueCache
    from instructmining.indicators.registry import instantiate

    local = instantiate(["ppl"], OPTIONS)[0]
    local.prepare(pool, pool, RunContext(options=OPTIONS, cache=ValueCache(None)))

    def no_model(*_args: object) -> None:
        raise AssertionError("planning loaded a model")

    monkeypatch.setattr(perplexity, "load_causal_lm", no_model)
    planner = instantiate(["ppl"], OPTIONS)[0]
    _tokenize(planner, pool)
    planned = planner.lengths(pool)
    assert planned.tolist() == local.lengths(pool).tolist()
    assert len(set(planned.tolist())) > 1  # token counts, which differ across these examples
