"""RayExecutor on a real two-node cluster: results, raised errors, and a worker killed mid-task."""

from __future__ import annotations

import os
import threading

import pytest

pytest.importorskip("ray", reason="Ray is an optional extra (pip install '.[ray]')")

from local_ray_cluster import LocalCluster  # noqa: E402
from ray_helpers import KillOnceExecutor, square  # noqa: E402

from instructmining.distributed.options import (  # noqa: E402
    executor_from_options,
    indicator_runner,
)
from instructmining.distributed.ray_executor import RayExecutor  # noqa: E402
from instructmining.distributed.ray_indicators import run_indicators_ray  # noqa: E402

pytestmark = pytest.mark.slow


def test_map_returns_each_result_and_error_once(ray_cluster: LocalCluster) -> None:
    outcomes = dict(RayExecutor(ray_cluster.address).map(square, [3, -1, 2, 5]))
    assert {k: v for k, v in outcomes.items() if k != -1} == {3: 9, 2: 4, 5: 25}
    assert isinstance(outcomes[-1], ValueError)  # the task's own exception, not Ray's wrapper
    assert "negative: -1" in str(outcomes[-1])


def test_options_give_ray_runners(ray_cluster: LocalCluster) -> None:
    executor = executor_from_options("ray", ray_cluster.address)
    assert isinstance(executor, RayExecutor) and executor.address == ray_cluster.address
    assert executor.in_process is False  # progress callbacks cannot reach the driver
    runner = indicator_runner("ray", ray_cluster.address)
    assert runner.func is run_indicators_ray and runner.keywords == {"address": ray_cluster.address}


def test_killed_worker_task_is_retried_and_reported_once(
    ray_cluster: LocalCluster, tmp_path
) -> None:
    executor = KillOnceExecutor(ray_cluster.address, tmp_path, victim="4")
    killed: list[int] = []
    killer = threading.Thread(target=lambda: killed.append(executor.kill_victim()))
    killer.start()
    outcomes = list(executor.map(square, [1, 2, 3, 4]))
    killer.join()
    assert sorted(outcomes) == [(1, 1), (2, 4), (3, 9), (4, 16)]  # each task exactly once
    first, second = executor.attempts("4")  # the killed attempt and Ray's retry
    assert first == killed[0] and second != first
    with pytest.raises(ProcessLookupError):
        os.kill(first, 0)
