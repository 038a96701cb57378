"""What every benchmark table carries: the machine line, so tables from different machines read
side by side, and the matmul peak that achieved FLOP/s are measured against."""

from __future__ import annotations

import os
import platform
import statistics
import time
from pathlib import Path
from typing import Any

import torch


def cpu_model() -> str:
    """The CPU's marketing name from /proc/cpuinfo (the platform's processor string elsewhere)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def machine_line() -> str:
    """CPU model, cores (usable by this process / on the machine), torch threads, native bf16."""
    from instructmining.models.loader import cpu_has_bf16
    from instructmining.threads import usable_cpus

    return (
        f"machine: {cpu_model()}; {usable_cpus()} usable of {os.cpu_count()} CPUs; "
        f"torch {torch.__version__} with {torch.get_num_threads()} threads; "
        f"native bf16 {'yes' if cpu_has_bf16() else 'no (runs in fp32)'}; "
        f"load average {os.getloadavg()[0]:.1f} at the end"
    )


def linear_shapes(config: Any, tokens: int) -> list[tuple[str, int, int, int]]:
    """(name, rows, in, out) of the model's own linears at `tokens` rows (the head at a quarter)."""
    hidden, inter = config.hidden_size, config.intermediate_size
    head_dim = getattr(config, "head_dim", None) or hidden // config.num_attention_heads
    kv = config.num_key_value_heads * head_dim
    return [
        ("q/o proj", tokens, hidden, hidden),
        ("k/v proj", tokens, hidden, kv),
        ("gate/up proj", tokens, hidden, inter),
        ("down proj", tokens, inter, hidden),
        ("LM head", tokens // 4, hidden, config.vocab_size),
    ]


def _gflops(rows: int, inner: int, out: int, dtype: torch.dtype, repeats: int) -> float:
    """Median GFLOP/s of one linear (x @ w.T), after a warm-up call."""
    x, w = torch.randn(rows, inner, dtype=dtype), torch.randn(out, inner, dtype=dtype)
    torch.nn.functional.linear(x, w)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        torch.nn.functional.linear(x, w)
        times.append(time.perf_counter() - start)
    return 2 * rows * inner * out / statistics.median(times) / 1e9


def matmul_peak(config: Any, quick: bool, dtype: torch.dtype) -> tuple[float, list[str]]:
    """Median GFLOP/s over square sizes and the model's linear shapes, with each shape's figure.

    One matrix size alone is a fragile peak (a 2,048 square once read 1,909 GFLOP/s where the
    model's shapes ran far slower); the median over shapes is what the run can hope for.
    """
    squares, tokens, repeats = ([1024, 2048], 1024, 3) if quick else ([1024, 2048, 4096], 4096, 5)
    shapes = [(f"square {n}", n, n, n) for n in squares] + linear_shapes(config, tokens)
    rates = [(name, _gflops(r, i, o, dtype, repeats), r, i, o) for name, r, i, o in shapes]
    notes = [f"{name} {r}x{i}x{o}: {g:.0f}" for name, g, r, i, o in rates]
    return statistics.median(g for _, g, *_ in rates), notes
