"""Task functions for the Ray tests, shipped to workers by value (the tests folder is no package).

`KillOnceExecutor` makes the first attempt of one task stop after its work, in a worker the test
kills with SIGKILL: Ray must rerun that task, and the driver must still see one outcome per task.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import ray.cloudpickle

from instructmining.distributed.ray_executor import RayExecutor

ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])


def square(x: int) -> int:
    if x < 0:
        raise ValueError(f"negative: {x}")
    return x * x


def task_key(task: Any) -> str:
    return f"{task.subset_id}-{task.seed}" if hasattr(task, "subset_id") else str(task)


def _attempts(folder: Path, key: str) -> list[int]:
    path = folder / f"{key}.pids"
    return [int(x) for x in path.read_text().split()] if path.exists() else []


def first_attempt_hangs(fn: Callable, folder: Path, victim: str, task: Any) -> Any:
    """Run `fn(task)`; on the victim's first attempt, record the worker's pid and hang after it."""
    key = task_key(task)
    first = not _attempts(folder, key)
    result = fn(task)
    with open(folder / f"{key}.pids", "a") as fh:
        fh.write(f"{os.getpid()}\n")
    if key == victim and first:
        time.sleep(600)  # killed by the test long before
    return result


class KillOnceExecutor(RayExecutor):
    """A RayExecutor whose victim task's first worker dies by the test's SIGKILL."""

    def __init__(self, address: str, folder: Path, victim: str) -> None:
        super().__init__(address)
        self.folder, self.victim = folder, victim

    def map(self, fn: Callable, tasks: list) -> Iterator[tuple[Any, Any]]:
        wrapped = partial(first_attempt_hangs, fn, self.folder, self.victim)
        return super().map(wrapped, tasks)

    def kill_victim(self, timeout: float = 300) -> int:
        """Wait for the victim's first attempt to record its pid, SIGKILL it, return the pid."""
        deadline = time.monotonic() + timeout
        while not _attempts(self.folder, self.victim):
            if time.monotonic() > deadline:
                raise TimeoutError(f"task {self.victim} never started")
            time.sleep(0.1)
        pid = _attempts(self.folder, self.victim)[0]
        os.kill(pid, 9)
        return pid

    def attempts(self, key: str) -> list[int]:
        return _attempts(self.folder, key)
