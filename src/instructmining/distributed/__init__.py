"""Dispatching independent tasks: in this process, one process per GPU, or on a Ray cluster.

Ray is imported only when a Ray backend is used (`pip install 'instructmining[ray]'`).
"""

from instructmining.distributed.executor import (
    Executor,
    GpuPoolExecutor,
    LocalExecutor,
    default_executor,
)
from instructmining.distributed.options import executor_from_options, indicator_runner
from instructmining.distributed.ray_executor import RayExecutor

__all__ = [
    "Executor",
    "GpuPoolExecutor",
    "LocalExecutor",
    "RayExecutor",
    "default_executor",
    "executor_from_options",
    "indicator_runner",
]
