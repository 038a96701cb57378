"""Importing Ray on demand and joining a cluster, shared by the Ray executor and Ray indicators.

Ray is an optional extra: nothing here imports it until a Ray backend is asked for, so the
package works without it, and asking for it without it installed is a one-line error with the
install command.
"""

from __future__ import annotations

import os
from types import ModuleType

from instructmining.errors import UserError, param

INSTALL_HINT = "pip install 'instructmining[ray]'"


def import_ray() -> ModuleType:
    """The `ray` module, or a UserError naming the extra that provides it."""
    try:
        import ray
    except ImportError as exc:
        raise UserError(
            f"{param('executor')} ray needs Ray, which is not installed ({INSTALL_HINT})"
        ) from exc
    return ray


def connect(address: str | None) -> ModuleType:
    """Join the cluster at `address` (else $RAY_ADDRESS, else start a local one), once per process.

    Task output stays in the workers' logs: the driver's progress bar is the user's view. A
    Ray instance started here offers as many CPUs as this process's thread budget (torch's
    thread count), so its workers share that budget instead of the whole machine.
    """
    import torch

    ray = import_ray()
    if ray.is_initialized():
        return ray
    address = address or os.environ.get("RAY_ADDRESS") or None
    budget = {} if address else {"num_cpus": torch.get_num_threads()}
    try:
        ray.init(address=address, log_to_driver=False, configure_logging=False, **budget)
    except ConnectionError as exc:
        raise UserError(f"cannot reach the Ray cluster at {address!r}: {exc}") from exc
    return ray


def cluster_gpus(ray: ModuleType) -> float:
    """How many GPUs the cluster offers; tasks and actors ask for one each when there are any."""
    return float(ray.cluster_resources().get("GPU", 0.0))


def worker_threads_on(ray: ModuleType, threads: int) -> int:
    """`threads`, capped by the largest node's CPUs, so a worker that reserves them can run.

    Each worker reserves as many Ray CPUs as it runs threads: the workers Ray places on one
    node then split that node's CPUs between them instead of each taking all of them.
    """
    largest = max(
        (n["Resources"].get("CPU", 0) for n in ray.nodes() if n.get("Alive")), default=threads
    )
    return max(1, min(threads, int(largest)))
