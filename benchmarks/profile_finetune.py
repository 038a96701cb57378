"""torch.profiler over one demo-sized fine-tune and its evaluation: operator shares per phase.

The demo's sizes (demo.yaml): 32 training examples from the bundled pool's Dolly file, the 48
SELF-INSTRUCT items and 12 MT-Bench items, max length 192, cpu-small with a constant lr. The
base model is loaded and the evaluation sets tokenised before timing, as the experiment stage
keeps them warm between runs. Shares of operator time are printed per phase (training, then
evaluation): on a shared machine they move less with the load than seconds do.

    python benchmarks/profile_finetune.py            # timed run, then a profiled one
    python benchmarks/profile_finetune.py --top 20
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from machine import machine_line
from profile_ppl import MATMULS
from torch.profiler import ProfilerActivity, profile

DEMO_DATA = Path(__file__).resolve().parents[1] / "src" / "instructmining" / "demo" / "data"


def demo_run_inputs() -> tuple[list[dict], list[dict], dict[str, list[dict]], Any]:
    """(32 training examples, 48 SELF-INSTRUCT items, {"mt_bench": 12 items}, demo config)."""
    from instructmining.data import read_examples
    from instructmining.experiments import preset

    train = read_examples(DEMO_DATA / "dolly_3k.json.gz", format="dolly")
    train = train.sample(n=32, random_state=0).to_dict("records")
    evals = read_examples(DEMO_DATA / "self_instruct_eval.jsonl.gz", format="self-instruct")
    bench = read_examples(
        [DEMO_DATA / "mt_bench" / "question.jsonl.gz", DEMO_DATA / "mt_bench" / "gpt-4.jsonl.gz"],
        format="mt-bench",
    )
    config = preset("cpu-small", max_length=192, schedule="constant", warmup=0.0)
    return (
        train,
        evals.head(48).to_dict("records"),
        {"mt_bench": bench.head(12).to_dict("records")},
        config,
    )


def operator_table(prof: Any) -> list[tuple[str, float, int]]:
    events = [e for e in prof.key_averages() if not e.key.startswith("ProfilerStep")]
    events = [e for e in events if not e.key.startswith("phase:")]
    total = sum(e.self_cpu_time_total for e in events) or 1.0
    rows = [(e.key, e.self_cpu_time_total / total, e.count) for e in events]
    return sorted(rows, key=lambda r: -r[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--top", type=int, default=12)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    from instructmining.experiments import finetune_and_evaluate
    from instructmining.experiments.model import warm_model

    train, evals, tests, config = demo_run_inputs()
    warm_model(config)
    finetune_and_evaluate([], evals, config, test_evals=tests)  # warm-up; tokenises the evals
    started = time.perf_counter()
    result = finetune_and_evaluate(train, evals, config, seed=args.seed, test_evals=tests)
    wall = time.perf_counter() - started
    print(f"one demo-sized run: {wall:.1f} s wall; eval loss {result.eval_loss:.5f}, "
          f"train loss {result.train_loss:.5f}, {result.tokens} training tokens")  # fmt: skip
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        finetune_and_evaluate(train, evals, config, seed=args.seed, test_evals=tests)
    rows = operator_table(prof)
    print(f"\n{'operator (self CPU time)':<52} {'share':>7} {'calls':>8}")
    for name, share, count in rows[: args.top]:
        print(f"{name[:52]:<52} {share:>7.1%} {count:>8}")
    matmul = sum(share for name, share, _ in rows if name in MATMULS)
    print(f"{'counted matmuls':<52} {matmul:>7.1%}")
    print(machine_line())


if __name__ == "__main__":
    main()
