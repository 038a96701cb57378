"""Wall time of one `cpu-small` run: a 200-example subset fine-tuned, then evaluated on 100 items.

The preset promises at most 2 minutes for this on a 2-core CPU; the figure printed here is the
one docs/presets.md quotes. The baseline, measured in the same process, is the base model's own
evaluation on the same 100 items (what every run pays on top of training), so the ratio says
how many evaluations one whole run costs. The base model is loaded once before timing, as the
experiment stage keeps it warm between runs; repeats use other training seeds and the table
shows medians.

    .venv/bin/python benchmarks/cpu_small.py --repeats 3
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

SHARED = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
DOLLY = SHARED / "dolly" / "alpagasus_dolly_3k.json"
SELF_INSTRUCT = SHARED / "eval" / "self_instruct" / "user_oriented_instructions.jsonl"
BUDGET_S = 120.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=Path, default=DOLLY)
    parser.add_argument("--eval", type=Path, default=SELF_INSTRUCT)
    parser.add_argument("--examples", type=int, default=200)
    parser.add_argument("--eval-items", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    for path in (args.train, args.eval):
        if not path.exists():
            raise SystemExit(f"{path}: not found (the shared data folder is needed)")

    import torch

    from instructmining.data import read_examples
    from instructmining.experiments import finetune_and_evaluate, preset
    from instructmining.experiments.model import warm_model

    config = preset("cpu-small")
    train = read_examples(args.train).sample(n=args.examples, random_state=0)
    evals = read_examples(args.eval).iloc[: args.eval_items]
    warm_model(config)  # load once, as the experiment stage does
    finetune_and_evaluate([], evals, config)  # tokenises the evaluation set once, as runs share it

    base, runs, tokens = [], [], 0
    for seed in range(args.repeats):
        started = time.perf_counter()
        finetune_and_evaluate([], evals, config)
        base.append(time.perf_counter() - started)
        result = finetune_and_evaluate(train, evals, config, seed=seed)
        runs.append(result.seconds)
        tokens = result.tokens
        print(f"seed {seed}: run {runs[-1]:.1f} s (eval loss {result.eval_loss:.4f}), "
              f"base evaluation {base[-1]:.1f} s", flush=True)  # fmt: skip

    run, evaluation = statistics.median(runs), statistics.median(base)
    print(
        f"\ncpu-small ({config.epochs} epochs, max length {config.max_length}, LoRA r"
        f"{config.lora_r}, batch {config.batch_size}), {args.examples} Dolly examples "
        f"({tokens:,} training tokens), {args.eval_items} SELF-INSTRUCT items, "
        f"torch threads {torch.get_num_threads()}; median of {args.repeats}"
    )
    print(f"{'what':<40} {'seconds':>8}")
    print(f"{'fine-tune + evaluation (one run)':<40} {run:>8.1f}")
    print(f"{'base-model evaluation (baseline)':<40} {evaluation:>8.1f}")
    print(f"{'run / evaluation':<40} {run / evaluation:>7.1f}x")
    print(f"{'budget':<40} {BUDGET_S:>8.0f}  ({'within' if run <= BUDGET_S else 'OVER'})")


if __name__ == "__main__":
    main()
