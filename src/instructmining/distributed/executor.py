"""How independent tasks (fine-tune runs) are dispatched: in this process, one per GPU, or by Ray.

Stages hand an executor a module-level function and picklable tasks and get back each task with
its result or its exception as tasks finish; the caller alone writes outputs, so an executor
never touches the workspace.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any, Protocol, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class Executor(Protocol):
    """Runs `fn(task)` for each task; yields (task, result or the exception it raised).

    An executor whose `fn` runs in the caller's process sets `in_process = True`, so callers may
    pass it closures (a progress callback); others get a module-level function and plain tasks.
    """

    def map(
        self, fn: Callable[[T], R], tasks: Sequence[T]
    ) -> Iterator[tuple[T, R | BaseException]]: ...


class LocalExecutor:
    """One task at a time in this process, so models loaded by `fn` stay warm between tasks."""

    in_process = True

    def map(
        self, fn: Callable[[T], R], tasks: Sequence[T]
    ) -> Iterator[tuple[T, R | BaseException]]:
        for task in tasks:
            try:
                result: R | BaseException = fn(task)
            except Exception as exc:  # noqa: BLE001 - a failed task is reported, the rest go on
                result = exc
            yield task, result


def _pin_gpu(gpus: Any) -> None:
    """Worker initializer: take one GPU id from the queue and make it the only visible one."""
    os.environ["CUDA_VISIBLE_DEVICES"] = str(gpus.get())


class GpuPoolExecutor:
    """One worker process per GPU, each seeing only its GPU and keeping its model warm.

    Workers are spawned (CUDA cannot be forked) and each takes one GPU id before CUDA starts.
    A worker that dies breaks the pool: its task and the unfinished ones report the error.
    """

    in_process = False

    def __init__(self, gpus: Sequence[int | str]) -> None:
        if not gpus:
            raise ValueError("GpuPoolExecutor needs at least one GPU id")
        self.gpus = [str(g) for g in gpus]

    def map(
        self, fn: Callable[[T], R], tasks: Sequence[T]
    ) -> Iterator[tuple[T, R | BaseException]]:
        context = multiprocessing.get_context("spawn")
        queue = context.Queue()
        for gpu in self.gpus:
            queue.put(gpu)
        with ProcessPoolExecutor(
            max_workers=len(self.gpus), mp_context=context, initializer=_pin_gpu, initargs=(queue,)
        ) as pool:
            pending: dict[Future, T] = {pool.submit(fn, task): task for task in tasks}
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    task = pending.pop(future)
                    error = future.exception()
                    yield task, (error if error is not None else future.result())


def default_executor() -> Executor:
    """One process per GPU when several are visible, else everything in this process."""
    import torch

    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if count > 1:
        visible = os.environ.get("CUDA_VISIBLE_DEVICES")
        ids = visible.split(",") if visible else [str(i) for i in range(count)]
        return GpuPoolExecutor(ids[:count])
    return LocalExecutor()
