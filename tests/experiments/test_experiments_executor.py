"""Executors yield every task with its result or its exception; the GPU pool pins one GPU each.

No GPU is visible here: the pool's mechanics (spawned workers, one CUDA_VISIBLE_DEVICES id per
worker, exceptions carried back) are checked with plain functions; fine-tuning on several GPUs
is not exercised by these tests.
"""

from __future__ import annotations

import os
import time

from instructmining.distributed import GpuPoolExecutor, LocalExecutor, default_executor


def visible_gpu(task: int) -> str:
    if task == 3:
        raise ValueError("task 3 fails")
    time.sleep(0.2)
    return os.environ.get("CUDA_VISIBLE_DEVICES", "")


def test_local_executor_reports_failures_and_goes_on():
    outcomes = list(LocalExecutor().map(visible_gpu, [1, 3, 2]))
    assert [task for task, _ in outcomes] == [1, 3, 2]
    assert isinstance(outcomes[1][1], ValueError)
    assert not isinstance(outcomes[2][1], BaseException)


def test_gpu_pool_gives_each_worker_its_own_gpu():
    outcomes = dict(GpuPoolExecutor(["5", "6"]).map(visible_gpu, [0, 1, 2, 3, 4, 5]))
    assert sorted(outcomes) == [0, 1, 2, 3, 4, 5]
    assert isinstance(outcomes.pop(3), ValueError)
    assert set(outcomes.values()) <= {"5", "6"}


def test_default_is_local_without_several_gpus():
    assert isinstance(default_executor(), LocalExecutor)
