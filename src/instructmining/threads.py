"""One thread budget per process: torch, OpenMP/MKL and tokenizers sized to the CPUs it may use.

Each library sizes its thread pool to the whole machine on its own. Two such processes on the
same cores (two fine-tunes, Ray workers on one node, a neighbour's job) oversubscribe them: a
96-example fine-tune that took 44-58 s alone took 530-678 s beside other work. The budget is
the number of CPUs this process may run on (its affinity mask, capped by a cgroup CPU quota) or
`--threads`; Ray workers on one node share the node's budget (`worker_threads`).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

from instructmining.errors import UserError, param

THREADS_HELP = (
    "Threads for torch, OpenMP/MKL and tokenizers (default: the CPUs this process may use). "
    "Lower it when other work shares the machine."
)
# Read by OpenMP, MKL, OpenBLAS and the tokenizers' Rust pool when they start, in this
# process or in the workers (Ray, spawned pools) that inherit its environment.
POOL_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "RAYON_NUM_THREADS")
CGROUP_CPU_MAX = Path("/sys/fs/cgroup/cpu.max")


@dataclass(frozen=True)
class ThreadBudget:
    """The threads this process computes with, and where the number came from."""

    threads: int
    usable_cpus: int
    source: str  # "--threads" or "CPU affinity"

    def describe(self) -> str:
        return (
            f"threads: {self.threads} (torch, OpenMP/MKL, tokenizers; from {self.source}; "
            f"{self.usable_cpus} CPU(s) usable by this process)"
        )


def _quota_cpus() -> int | None:
    """CPUs a cgroup v2 quota allows ("max" or no file: no quota)."""
    try:
        quota, period = CGROUP_CPU_MAX.read_text().split()[:2]
    except (OSError, ValueError):
        return None
    if quota == "max":
        return None
    return max(1, math.ceil(int(quota) / int(period)))


def usable_cpus() -> int:
    """CPUs this process may run on: its affinity mask, capped by a cgroup CPU quota."""
    if hasattr(os, "sched_getaffinity"):
        cpus = len(os.sched_getaffinity(0))
    else:  # pragma: no cover - macOS and Windows have no affinity call
        cpus = os.cpu_count() or 1
    quota = _quota_cpus()
    return max(1, min(cpus, quota) if quota else cpus)


def worker_threads(budget: int, workers: int) -> int:
    """Threads for each of `workers` processes that share one budget (at least one each)."""
    return max(1, budget // max(1, workers))


def apply_thread_budget(threads: int | None = None) -> ThreadBudget:
    """Set torch's intra-op threads and the pool variables from `threads` or the usable CPUs."""
    import torch

    if threads is not None and threads < 1:
        raise UserError(f"{param('threads')} must be at least 1 (got {threads})")
    cpus = usable_cpus()
    budget = ThreadBudget(threads or cpus, cpus, "--threads" if threads else "CPU affinity")
    torch.set_num_threads(budget.threads)  # also sets OpenMP's and MKL's in this process
    for variable in POOL_VARIABLES:
        os.environ[variable] = str(budget.threads)
    # tokenizers' own switch: off with one thread, so batch encoding never spawns a pool
    os.environ["TOKENIZERS_PARALLELISM"] = "true" if budget.threads > 1 else "false"
    return budget


def start_thread_budget(threads: int | None) -> ThreadBudget:
    """Apply the budget, to be printed on stderr as the work starts: a command's first step."""
    from instructmining.progress import say_when_work_starts

    budget = apply_thread_budget(threads)
    say_when_work_starts(budget.describe())
    return budget
