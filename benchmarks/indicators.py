"""Indicator throughput on real Alpaca examples; every figure is a ratio measured in this run.

    python benchmarks/indicators.py --n 1000            # about 10-15 minutes on 2 cores
    python benchmarks/indicators.py --n 1000 --profile  # plus a profiled run and its tables
    python benchmarks/indicators.py --quick             # a smoke run (small sizes)

Rows: ppl+ifd through `run_indicators` (batched, length-sorted, bf16 autocast, model load and
tokenisation included) against a naive fp32 loop of one `model(input_ids, labels=...)` call per
example and pass (median of 3 passes over a random subsample after a warm-up, tokenisation
untimed, extrapolated per example); the time those passes would take if their unavoidable
matmuls ran at the bf16 peak (no implementation can beat it on this CPU, so naive / bound is
the ceiling of the speed-up); the achieved FLOP/s of that run (2 x parameters x tokens) against
this CPU's matmul peak in the run's precision (median over square sizes and the model's own
linear shapes); a missed goal names the operator that holds it back, from a profile of the
run; the gain of batching each pass by its own lengths over joint batches, both timed
back-to-back in this process; embedding throughput against a plain
`SentenceTransformer.encode`; and kNN search over 100,000 unit vectors (index build + every
query) against scikit-learn's brute-force NearestNeighbors (timed on a query sample,
extrapolated). Times are wall clock on a machine that may be shared.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from unittest.mock import patch

import numpy as np
import pandas as pd
import torch
from machine import machine_line, matmul_peak
from profile_ppl import bottleneck, print_profile, profile_run

from instructmining.hashing import hash_object
from instructmining.indicators import IndicatorOptions, run_indicators
from instructmining.indicators.base import RunContext, resolve_precision
from instructmining.indicators.cache import ValueCache
from instructmining.indicators.embed import encode_texts
from instructmining.indicators.knn import texts_of
from instructmining.indicators.lm import common_start
from instructmining.indicators.neighbours import NeighbourIndex
from instructmining.indicators.perplexity import PerplexityIndicator, encode
from instructmining.indicators.texts import user_text
from instructmining.models.loader import load_causal_lm, load_embedder

DATA = (
    Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "alpaca" / "alpaca_5000.json"
)


def load_pool(path: Path, n: int) -> pd.DataFrame:
    records = json.loads(path.read_text())[:n]
    return pd.DataFrame(
        [
            {"id": hash_object(r), "instruction": r["instruction"], "input": r["input"],
             "output": r["output"], "system": ""}
            for r in records
        ]
    )  # fmt: skip


def encoded_pool(tokenizer: Any, pool: pd.DataFrame) -> list:
    """Every example's prompt, empty-user prompt and response ids, untruncated."""
    return [
        encode(tokenizer, row.system, user_text(row.instruction, row.input), row.output, 2048)
        for row in pool.itertuples()
    ]


def naive_ppl_ifd(
    lm: Any, pool: pd.DataFrame, sample: int, repeats: int = 3, seed: int = 0
) -> float:
    """Seconds per example of an fp32, unbatched loop: two model(input_ids, labels) calls each.

    One warm-up example first (kernel set-up is not per-example work), then the median of
    `repeats` passes over the same random sample.
    """
    rows = pool.sample(n=min(sample, len(pool)), random_state=seed)
    encoded = encoded_pool(lm.tokenizer, rows)

    def score(e) -> None:
        for prefix in (e.prefix, e.alone):
            ids = torch.tensor([prefix + e.response])
            labels = torch.tensor([[-100] * len(prefix) + e.response])
            with torch.no_grad():
                math.exp(lm.model(input_ids=ids, labels=labels).loss.item())

    score(encoded[0])
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for e in encoded:
            score(e)
        times.append((time.perf_counter() - start) / len(encoded))
    return statistics.median(times)


def tokens_processed(encoded: list) -> int:
    """Tokens the two passes feed through the model (both prompts, the response twice)."""
    return sum(len(e.prefix) + len(e.alone) + 2 * len(e.response) for e in encoded)


def unavoidable_flops(model: Any, encoded: list) -> float:
    """Matmul FLOPs no implementation of our two passes can skip: a lower bound on their work.

    The decoder layers run on every token after the prompt start that all examples share (which
    is computed once), without padding; the LM head runs on response tokens only. Attention,
    norms and the like are left out.
    """
    layers = sum(p.numel() for p in model.base_model.layers.parameters())
    head = model.get_output_embeddings().weight.numel()
    tokens = 0
    for prompts in ([e.prefix for e in encoded], [e.alone for e in encoded]):
        shared = min(common_start(prompts), min(len(p) for p in prompts) - 1)
        tokens += sum(len(p) - shared for p in prompts)
    responses = sum(len(e.response) for e in encoded)
    return 2 * layers * (tokens + 2 * responses) + 2 * head * 2 * responses


def embedding_rates(texts: list[str]) -> tuple[float, float]:
    """Sentences/s of a plain SentenceTransformer.encode and of the indicator's embedding path."""
    model = load_embedder("all-minilm-l6-v2", "cpu")
    model.encode(texts[:32])  # warm-up
    start = time.perf_counter()
    model.encode(texts)
    plain = len(texts) / (time.perf_counter() - start)
    ctx = RunContext(options=IndicatorOptions(device="cpu"), cache=ValueCache(None))
    ordered = sorted(texts, key=len)
    start = time.perf_counter()
    with torch.inference_mode():
        for s in range(0, len(ordered), 512):
            encode_texts(model, ordered[s : s + 512], ctx)
    ours = len(texts) / (time.perf_counter() - start)
    return plain, ours


def synthetic_vectors(n: int, dim: int = 384, seed: int = 0) -> np.ndarray:
    """Unit vectors in clusters of varied size and spread, a stand-in for sentence embeddings."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n // 100, dim))
    labels = rng.zipf(1.5, size=n) % len(centres)
    spread = rng.uniform(0.5, 1.5, size=(n, 1))
    x = centres[labels] + spread * rng.normal(size=(n, dim))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def knn_search(n: int, k: int, sklearn_queries: int) -> dict[str, float]:
    from sklearn.neighbors import NearestNeighbors

    x = synthetic_vectors(n)
    start = time.perf_counter()
    index = NeighbourIndex(x, exact_max=50_000)
    recall = index.tune(x, k + 1)
    index.search(x, k + 1)
    ours = time.perf_counter() - start
    nn = NearestNeighbors(n_neighbors=k + 1, metric="cosine", algorithm="brute").fit(x)
    start = time.perf_counter()
    nn.kneighbors(x[:sklearn_queries])
    sklearn = (time.perf_counter() - start) / sklearn_queries * n
    return {"ours": ours, "sklearn": sklearn, "recall": recall, "method": index.method}


def ppl_ifd_seconds(pool: pd.DataFrame) -> float:
    """Wall seconds of one ppl+ifd run on a fresh cache (model load and tokenisation included)."""
    with tempfile.TemporaryDirectory() as cache:
        start = time.perf_counter()
        run_indicators(pool, ["ppl", "ifd"], IndicatorOptions(device="cpu"), Path(cache), False)
        return time.perf_counter() - start


def passes_gain(pool: pd.DataFrame, repeats: int) -> tuple[float, float]:
    """Median s of ppl+ifd with each pass batched by its own lengths, and with joint batches.

    The two variants alternate in this process, so a change in the machine's load hits both.
    """
    apart, joint = [], []
    for _ in range(repeats):
        apart.append(ppl_ifd_seconds(pool))
        with patch.object(PerplexityIndicator, "pass_lengths", lambda self, todo: None):
            joint.append(ppl_ifd_seconds(pool))
    return statistics.median(apart), statistics.median(joint)


def step(what: str) -> None:
    """Progress on stderr: a long run shows where it is."""
    print(f"[{time.strftime('%H:%M:%S')}] {what}", file=sys.stderr, flush=True)


def _status(met: bool, held_back: str) -> str:
    return "met" if met else f"missed: {held_back}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="Alpaca examples for ppl/ifd/embed")
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--profile", action="store_true", help="print the profile's tables")
    parser.add_argument("--data", type=Path, default=DATA)
    args = parser.parse_args()
    n = 24 if args.quick else args.n
    naive_sample, repeats = (4, 1) if args.quick else (40, 3)
    knn_n, sk_queries = (5_000, 200) if args.quick else (100_000, 2_000)
    if not args.data.exists():
        raise SystemExit(f"{args.data}: not found (the shared data folder is needed)")
    pool = load_pool(args.data, n)
    print(f"{len(pool)} Alpaca examples from {args.data.name}\n{machine_line()}", flush=True)

    step("ppl+ifd run")
    batched = ppl_ifd_seconds(pool)
    step("matmul peak, naive loop")
    lm = load_causal_lm("smollm2-135m-instruct", "cpu")
    precision = resolve_precision(IndicatorOptions(device="cpu"))
    dtype = torch.bfloat16 if precision == "bf16" else torch.float32
    peak, peak_notes = matmul_peak(lm.model.config, args.quick, dtype)
    naive = naive_ppl_ifd(lm, pool, naive_sample) * len(pool)
    params = sum(p.numel() for p in lm.model.parameters())
    encoded = encoded_pool(lm.tokenizer, pool)
    tokens = tokens_processed(encoded)
    achieved = 2 * params * tokens / batched / 1e9
    floor = unavoidable_flops(lm.model, encoded) / (peak * 1e9)
    del lm
    # the operator named when a goal is missed: from the whole run with --profile, else a sample
    step("profile")
    profiled = profile_run(
        pool if args.profile else pool.head(min(len(pool), 16 if args.quick else 48))
    )
    held_back = bottleneck(profiled)
    step("passes apart vs joint")
    apart, joint = passes_gain(pool, repeats)
    step("embedding, kNN")
    plain, ours = embedding_rates(texts_of(pool))
    knn = knn_search(knn_n, 6, sk_queries)

    ceiling, speedup = naive / floor, naive / batched
    rows = [
        ("ppl+ifd, s for all examples", f"{batched:.1f}", f"{naive:.1f} (naive, extrap.)",
         f"{speedup:.1f}x", f">= {0.6 * ceiling:.1f}x (60% of ceiling)",
         _status(speedup >= 0.6 * ceiling, held_back)),
        ("ppl+ifd, s if every matmul ran at peak", f"{floor:.1f} (bound)",
         f"{naive:.1f} (naive, extrap.)", f"{ceiling:.1f}x", "ceiling", "-"),
        ("ppl+ifd FLOP/s (2*params*tokens)", f"{achieved:.0f} GFLOP/s",
         f"{peak:.0f} GFLOP/s ({precision} matmul peak)", f"{achieved / peak:.0%}", ">= 50%",
         _status(achieved >= 0.5 * peak, held_back)),
        ("ppl+ifd, passes batched apart vs joint", f"{apart:.1f} s", f"{joint:.1f} s (joint)",
         f"{joint / apart:.2f}x", "-", f"median of {repeats}, back-to-back"),
        ("embedding, sentences/s", f"{ours:.0f}", f"{plain:.0f} (plain encode)",
         f"{ours / plain:.1f}x", "-", "-"),
        (f"kNN {knn_n:,} x 384, build+all queries s", f"{knn['ours']:.1f} ({knn['method']})",
         f"{knn['sklearn']:.1f} (sklearn brute, extrap.)", f"{knn['sklearn'] / knn['ours']:.1f}x",
         "< 60 s", _status(knn["ours"] < 60, "-")),
        (f"kNN recall@7 ({knn['method']})", f"{knn['recall']:.3f}", "1.000 (exact)", "-", "-",
         "-"),
    ]  # fmt: skip
    header = ("what", "ours", "baseline", "ratio", "goal", "status")
    widths = [max(len(r[i]) for r in [*rows, header]) for i in range(len(header))]
    print()
    for row in [header, *rows]:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    print(machine_line())
    print(
        f"naive loop: median of 3 passes over {min(naive_sample, len(pool))} random examples, "
        f"extrapolated; sklearn on {sk_queries:,} queries and extrapolated; {tokens:,} tokens, "
        f"{params / 1e6:.0f}M parameters; peak GFLOP/s is the median of: {'; '.join(peak_notes)}"
    )
    if args.profile:
        print_profile(profiled)


if __name__ == "__main__":
    main()
