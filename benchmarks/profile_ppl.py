"""torch.profiler over a real ppl+ifd run: shares per operator and per phase, and the bottleneck.

Phases are the library's own functions, wrapped in `record_function` only while profiling (the
library carries no profiling code): model load, tokenisation, decoder forward (of which the
shared prompt start), LM head, token scoring and cache writes; the rest is "other" (batch
planning, Python between batches).
"""

from __future__ import annotations

import contextlib
import functools
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
from torch.profiler import ProfilerActivity, profile, record_function

from instructmining.indicators import IndicatorOptions, lm, perplexity, run_indicators
from instructmining.indicators.cache import ValueCache

# (label, owner, attribute); indented labels run inside the one above them
PHASES = (
    ("model load", perplexity, "load_causal_lm"),
    ("tokenise", perplexity.PerplexityIndicator, "tokenize"),
    ("decoder forward", lm, "batch_hidden"),
    ("  of which shared start", lm, "_shared_cache"),
    ("LM head", lm, "head_logits"),
    ("token scoring (softmax, NLL)", lm, "token_nll"),
    ("cache write", ValueCache, "put"),
)
# Operators that do the matmul FLOPs the bound counts; attention is not among them.
MATMULS = ("aten::mm", "aten::addmm", "aten::bmm", "aten::baddbmm", "aten::matmul", "aten::linear")


@contextlib.contextmanager
def _labelled() -> Iterator[None]:
    """Wrap each phase's function in a profiler label for the duration of the block."""
    saved = [(owner, name, getattr(owner, name)) for _, owner, name in PHASES]

    def wrap(label: str, fn: Any) -> Any:
        @functools.wraps(fn)
        def labelled(*args: Any, **kwargs: Any) -> Any:
            with record_function(label.strip()):
                return fn(*args, **kwargs)

        return labelled

    try:
        for label, owner, name in PHASES:
            setattr(owner, name, wrap(label, getattr(owner, name)))
        yield
    finally:
        for owner, name, fn in saved:
            setattr(owner, name, fn)


def profile_run(pool: pd.DataFrame) -> dict[str, Any]:
    """Profile ppl+ifd over `pool` (fresh cache): operator and phase tables, and the bottleneck."""
    with tempfile.TemporaryDirectory() as cache, _labelled():
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            start = time.perf_counter()
            run_indicators(pool, ["ppl", "ifd"], IndicatorOptions(device="cpu"), Path(cache), False)
            wall = time.perf_counter() - start
    events = prof.key_averages()
    labels = {label.strip() for label, _, _ in PHASES}
    ops = [e for e in events if e.key not in labels and not e.key.startswith("ProfilerStep")]
    op_total = sum(e.self_cpu_time_total for e in ops) or 1.0
    operators = sorted(
        ((e.key, e.self_cpu_time_total / op_total, e.count) for e in ops),
        key=lambda row: -row[1],
    )
    phase_us = {e.key: e.cpu_time_total for e in events if e.key in labels}
    phases = [(label, phase_us.get(label.strip(), 0.0) / 1e6 / wall) for label, _, _ in PHASES]
    top_level = sum(share for label, share in phases if not label.startswith(" "))
    phases.append(("other (planning, Python between batches)", max(0.0, 1 - top_level)))
    return {"wall": wall, "operators": operators, "phases": phases}


def matmul_share(result: dict[str, Any]) -> float:
    return sum(share for name, share, _ in result["operators"] if name in MATMULS)


def bottleneck(result: dict[str, Any]) -> str:
    """The largest operator that is not a counted matmul: where time beyond the bound goes."""
    name, share, _ = next(op for op in result["operators"] if op[0] not in MATMULS)
    return f"{name} ({share:.0%} of op time; matmuls {matmul_share(result):.0%})"


def print_profile(result: dict[str, Any], top: int = 15) -> None:
    print(f"\nprofile of one ppl+ifd run ({result['wall']:.1f} s wall, profiler on)")
    print(f"{'phase':<44} {'share of wall':>13}")
    for label, share in result["phases"]:
        print(f"{label:<44} {share:>13.1%}")
    print(f"\n{'operator (self CPU time)':<52} {'share':>7} {'calls':>8}")
    for name, share, count in result["operators"][:top]:
        print(f"{name[:52]:<52} {share:>7.1%} {count:>8}")
    print(f"{'counted matmuls (' + ', '.join(m[6:] for m in MATMULS) + ')':<52} "
          f"{matmul_share(result):>7.1%}")  # fmt: skip
