"""The thread budget: applied to torch and the pool variables, printed, and on every command."""

from __future__ import annotations

import os
from types import SimpleNamespace

import pandas as pd
import pytest
import torch

from instructmining import threads
from instructmining.cli.app import app
from instructmining.threads import POOL_VARIABLES, apply_thread_budget, usable_cpus

COMPUTING_COMMANDS = (
    "indicators",
    "experiment",
    "search",
    "compare",
    "run",
    "demo",
    "select",
    "refine",
)


@pytest.fixture
def pool_file(tmp_path):
    path = tmp_path / "pool.parquet"
    texts = ["Name a colour.", "Red is a colour, and so is the blue of the sky."]
    pd.DataFrame({"id": ["a", "b"], "instruction": texts, "output": texts[::-1]}).to_parquet(path)
    return path


@pytest.fixture(autouse=True)
def restore_threads(monkeypatch: pytest.MonkeyPatch):
    """Each test may change torch's threads and the environment; both come back afterwards."""
    for variable in (*POOL_VARIABLES, "TOKENIZERS_PARALLELISM"):
        monkeypatch.delenv(variable, raising=False)
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def test_default_budget_is_the_cpus_this_process_may_use(monkeypatch):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {3})  # pinned to one CPU
    budget = apply_thread_budget()
    assert budget.threads == budget.usable_cpus == 1 and budget.source == "CPU affinity"
    assert torch.get_num_threads() == 1
    assert all(os.environ[v] == "1" for v in POOL_VARIABLES)
    assert os.environ["TOKENIZERS_PARALLELISM"] == "false"


def test_threads_overrides_the_cpus(monkeypatch):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0})
    budget = apply_thread_budget(2)
    assert (budget.threads, budget.usable_cpus, budget.source) == (2, 1, "--threads")
    assert torch.get_num_threads() == 2 and os.environ["OMP_NUM_THREADS"] == "2"
    assert os.environ["TOKENIZERS_PARALLELISM"] == "true"
    assert "threads: 2" in budget.describe() and "1 CPU(s) usable" in budget.describe()


def test_a_cgroup_quota_caps_the_affinity(monkeypatch, tmp_path):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(8)))
    cpu_max = tmp_path / "cpu.max"
    monkeypatch.setattr(threads, "CGROUP_CPU_MAX", cpu_max)
    assert usable_cpus() == 8  # no cgroup file
    cpu_max.write_text("max 100000\n")
    assert usable_cpus() == 8
    cpu_max.write_text("150000 100000\n")  # one and a half CPUs: two threads
    assert usable_cpus() == 2


def test_budget_is_split_between_workers():
    assert threads.worker_threads(8, 2) == 4
    assert threads.worker_threads(2, 3) == 1  # never zero


def test_every_computing_command_takes_threads():
    import instructmining.cli  # noqa: F401  (registers the commands)

    for info in app.registered_commands:
        name = info.name or info.callback.__name__
        if name in COMPUTING_COMMANDS:
            assert "threads" in info.callback.__annotations__, name
    names = {info.name for info in app.registered_commands}
    assert set(COMPUTING_COMMANDS) <= names


def test_cli_prints_the_budget_and_runs_under_it(cli, pool_file, tmp_path, monkeypatch):
    """The work itself sees the budget: torch threads and the OpenMP variable inside the run."""
    from instructmining.cli import indicators as command
    from instructmining.indicators import run_indicators

    seen = {}

    def recording(*args, **kwargs):
        seen["torch"], seen["omp"] = torch.get_num_threads(), os.environ["OMP_NUM_THREADS"]
        return run_indicators(*args, **kwargs)

    monkeypatch.setattr(command, "indicator_runner", lambda *a: recording)
    out = tmp_path / "indicators.parquet"
    code, _, stderr = cli(
        "indicators", pool_file, "-o", out, "--indicators", "mtld", "--threads", 1
    )
    assert code == 0, stderr
    assert stderr.splitlines()[0].startswith("threads: 1 (torch, OpenMP/MKL, tokenizers")
    assert seen == {"torch": 1, "omp": "1"}


def test_threads_below_one_is_a_one_line_error(cli, pool_file, tmp_path):
    code, _, stderr = cli("indicators", pool_file, "-o", tmp_path / "x.parquet", "--threads", 0)
    assert code == 2 and stderr.strip() == "error: --threads must be at least 1 (got 0)"


def test_ray_workers_reserve_their_threads_capped_by_the_largest_node():
    from instructmining.distributed.ray_runtime import worker_threads_on

    nodes = [
        {"Alive": True, "Resources": {"CPU": 4.0}},
        {"Alive": True, "Resources": {"CPU": 2.0}},
        {"Alive": False, "Resources": {"CPU": 64.0}},
    ]
    ray = SimpleNamespace(nodes=lambda: nodes)
    assert worker_threads_on(ray, 2) == 2
    assert worker_threads_on(ray, 16) == 4  # a task asking for 16 CPUs would never be placed
