"""Fine-tune runs as Ray tasks equal local runs, even when a worker dies after finishing its work.

A tiny random Llama (with SmolLM2's tokenizer) keeps the runs fast; the examples are real Dolly
and SELF-INSTRUCT records from the package's demo data.
"""

from __future__ import annotations

import gzip
import threading
from pathlib import Path

import pandas as pd
import pytest

pytest.importorskip("ray", reason="Ray is an optional extra (pip install '.[ray]')")

from local_ray_cluster import LocalCluster  # noqa: E402
from ray_helpers import KillOnceExecutor  # noqa: E402

from instructmining.data import read_examples  # noqa: E402
from instructmining.distributed.executor import LocalExecutor  # noqa: E402
from instructmining.experiments import preset, run_experiments  # noqa: E402
from instructmining.storage import write_parquet  # noqa: E402

pytestmark = pytest.mark.slow

DEMO = Path(__file__).resolve().parents[2] / "src/instructmining/demo/data"


def _workspace(root: Path) -> tuple[Path, Path]:
    """WS/ with 8 Dolly examples in two subsets, and an evaluation file of 6 SELF-INSTRUCT items."""
    pool = read_examples(DEMO / "dolly_3k.json.gz").head(8)
    write_parquet(pool, root / "ws" / "pool.parquet")
    subsets = pd.DataFrame({"subset_id": ["s0"] * 4 + ["s1"] * 4, "id": list(pool["id"])})
    write_parquet(subsets, root / "ws" / "subsets.parquet")
    eval_file = root / "eval.jsonl"
    with gzip.open(DEMO / "self_instruct_eval.jsonl.gz", "rt") as fh:
        eval_file.write_text("".join(next(fh) for _ in range(6)))
    return root / "ws", eval_file


def test_ray_runs_equal_local_runs_with_a_worker_killed(
    ray_cluster: LocalCluster, tiny_model: Path, tmp_path: Path
) -> None:
    config = preset(
        "cpu-small", base_model=str(tiny_model), max_length=96, batch_size=2, lr=5e-3, epochs=1
    )
    ws_local, eval_file = _workspace(tmp_path / "local")
    local = run_experiments(ws_local, eval_file, config, seeds=[0, 1], executor=LocalExecutor())

    ws_ray, _ = _workspace(tmp_path / "ray")
    executor = KillOnceExecutor(ray_cluster.address, tmp_path / "pids", victim="s1-1")
    (tmp_path / "pids").mkdir()
    killed: list[int] = []
    killer = threading.Thread(target=lambda: killed.append(executor.kill_victim()))
    killer.start()
    on_ray = run_experiments(ws_ray, eval_file, config, seeds=[0, 1], executor=executor)
    killer.join()

    first, retry = executor.attempts("s1-1")  # the killed attempt, then Ray's retry
    assert first == killed[0] and retry != first
    key = ["subset_id", "seed"]
    assert not on_ray.duplicated(key).any() and len(on_ray) == len(local) == 5  # base + 2x2
    assert (on_ray["status"] == "ok").all()
    both = local.merge(on_ray, on=key, suffixes=("_local", "_ray"))
    for column in ("eval_loss", "train_loss"):
        pd.testing.assert_series_equal(
            both[f"{column}_local"], both[f"{column}_ray"], check_names=False, rtol=0, atol=1e-6
        )
    assert both["tokens_local"].equals(both["tokens_ray"])
    assert (
        pd.read_parquet(ws_ray / "runs.parquet")
        .sort_values(key)
        .reset_index(drop=True)[key]
        .equals(on_ray.sort_values(key).reset_index(drop=True)[key])
    )
