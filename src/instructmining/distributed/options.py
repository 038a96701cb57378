"""`--executor local|ray` and `--ray-address`: one place that turns the options into runners.

Fine-tunes go through an `Executor`; indicator batches through a `BatchExecutor` under the
one `run_indicators` loop (`run_indicators_ray` hands it Ray's). Ray is imported only when `ray`
is asked for.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import partial
from typing import Any

from instructmining.distributed.executor import Executor, default_executor
from instructmining.errors import UserError, param

EXECUTORS = ("local", "ray")
EXECUTOR_HELP = "Where fine-tunes and indicator batches run: local (this machine) or ray."
RAY_ADDRESS_HELP = (
    "Ray cluster for --executor ray: auto (the cluster this node belongs to) or HEAD:PORT "
    "(default: $RAY_ADDRESS, else a new Ray instance on this machine)."
)


def check_executor(executor: str, ray_address: str | None = None) -> str:
    """The executor name, checked; `ray` without Ray installed fails here, with the pip hint."""
    name = executor.strip().lower()
    if name not in EXECUTORS:
        raise UserError(
            f"{param('executor')} must be one of {', '.join(EXECUTORS)} (got {executor!r})"
        )
    if ray_address and name != "ray":
        raise UserError(f"{param('ray_address')} needs {param('executor')} ray")
    if name == "ray":
        from instructmining.distributed.ray_runtime import import_ray

        import_ray()
    return name


def _address(ray_address: str | None) -> str | None:
    return ray_address or os.environ.get("RAY_ADDRESS") or None


def executor_from_options(executor: str = "local", ray_address: str | None = None) -> Executor:
    """`local`: this machine (one process per GPU when several); `ray`: tasks on a Ray cluster."""
    if check_executor(executor, ray_address) == "local":
        return default_executor()
    from instructmining.distributed.ray_executor import RayExecutor

    return RayExecutor(_address(ray_address))


def indicator_runner(executor: str = "local", ray_address: str | None = None) -> Callable[..., Any]:
    """`run_indicators`, or `run_indicators_ray` bound to the cluster (the same loop with Ray
    computing the batches): same call, same result."""
    if check_executor(executor, ray_address) == "local":
        from instructmining.indicators import run_indicators

        return run_indicators
    from instructmining.distributed.ray_indicators import run_indicators_ray

    return partial(run_indicators_ray, address=_address(ray_address))
