"""Per-task work (fine-tune runs) as Ray tasks, behind the same `map` as the local executor.

Each task runs `fn(task)` in a Ray worker, on one GPU when the cluster has GPUs. Results and
exceptions come back to the driver, which alone writes the workspace: a task that Ray retries
after its worker died yields one result, never two rows. A worker process lives on between tasks,
so a function may keep a loaded model in a module-level cache.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from instructmining.distributed.ray_runtime import cluster_gpus, connect, worker_threads_on


def _run_task(fn: Callable[[Any], Any], task: Any, threads: int) -> Any:
    """Run one task with the driver's torch thread count, so CPU results match a local run."""
    import torch

    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    return fn(task)


class RayExecutor:
    """Dispatch `fn` over tasks on a Ray cluster; yields (task, result | exception) as they finish.

    `max_retries` covers worker and node deaths only: an exception raised by `fn` is a result,
    not retried, since rerunning the same deterministic work would fail the same way.
    """

    in_process = False  # `fn` runs in worker processes: no callbacks into the driver

    def __init__(
        self,
        address: str | None = None,
        *,
        cpus_per_task: float = 1.0,
        gpus_per_task: float | None = None,
        max_retries: int = 3,
        torch_threads: int | None = None,
    ) -> None:
        self.address = address
        self.cpus_per_task = cpus_per_task
        self.gpus_per_task = gpus_per_task
        self.max_retries = max_retries
        self.torch_threads = torch_threads

    def _remote(self, ray: Any, threads: int) -> Any:
        gpus = self.gpus_per_task
        if gpus is None:
            gpus = 1.0 if cluster_gpus(ray) > 0 else 0.0
        return ray.remote(_run_task).options(
            num_cpus=max(self.cpus_per_task, threads),  # tasks on a node share its CPUs
            num_gpus=gpus,
            max_retries=self.max_retries,
            retry_exceptions=False,
            name="instructmining_task",
        )

    def map(self, fn: Callable[[Any], Any], tasks: list) -> Iterator[tuple[Any, Any]]:
        """Submit every task at once (Ray queues them by resources) and yield each as it ends."""
        import torch

        tasks = list(tasks)
        if not tasks:
            return
        ray = connect(self.address)
        threads = worker_threads_on(ray, self.torch_threads or torch.get_num_threads())
        remote = self._remote(ray, threads)
        fn_ref = ray.put(fn)  # shipped once, not once per task
        pending = {remote.remote(fn_ref, task, threads): task for task in tasks}
        try:
            while pending:
                done, _ = ray.wait(list(pending), num_returns=1)
                ref = done[0]
                task = pending.pop(ref)
                yield task, _outcome(ray, ref)
        finally:
            for ref in pending:  # the caller stopped early (error, Ctrl-C): free the cluster
                ray.cancel(ref, force=True)


def _outcome(ray: Any, ref: Any) -> Any:
    """The task's value, or the exception it raised (unwrapped), or Ray's error after retries."""
    try:
        return ray.get(ref)
    except ray.exceptions.RayTaskError as err:
        cause = getattr(err, "cause", None)
        return cause if isinstance(cause, BaseException) else err
    except ray.exceptions.RayError as err:
        return err
