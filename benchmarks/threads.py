"""Two fine-tunes at once on one machine, with and without the thread budget, against one alone.

Without a budget each process sizes torch's thread pool to the whole machine, so two of them
run twice as many threads as there are cores; with it, each gets its share of the CPUs this
process may use (`instructmining.threads.worker_threads`). Each fine-tune is
`benchmarks/finetune.py`'s own loop in a subprocess; rows are medians over repeats, and the
ratio is throughput (fine-tunes per second) against running them one after the other alone.

    .venv/bin/python benchmarks/threads.py              # 96 examples, 2 epochs, 3 repeats
    .venv/bin/python benchmarks/threads.py --quick      # a smoke run (8 examples, 1 epoch)
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

from machine import machine_line

from instructmining.threads import usable_cpus, worker_threads

FINETUNE = Path(__file__).with_name("finetune.py")


def launch(args: argparse.Namespace, threads: int | None) -> subprocess.Popen:
    command = [sys.executable, str(FINETUNE), "--variant", "ours", "--examples", str(args.examples)]
    command += ["--epochs", str(args.epochs), "--max-length", str(args.max_length)]
    command += ["--threads", str(threads)] if threads else []
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def run_together(args: argparse.Namespace, threads: list[int | None]) -> dict[str, float]:
    """Start one fine-tune per entry at once; wall s of all, median training s, their threads."""
    started = time.perf_counter()
    procs = [launch(args, t) for t in threads]
    results = []
    for proc in procs:
        out, err = proc.communicate()
        if proc.returncode != 0:
            sys.exit(f"fine-tune failed:\n{err[-3000:]}")
        results.append(json.loads(out.strip().splitlines()[-1]))
    return {
        "wall": time.perf_counter() - started,
        "train": statistics.median(r["seconds"] for r in results),
        "threads": max(r["threads"] for r in results),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=96)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--max-length", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    args = parser.parse_args()
    if args.quick:
        args.examples, args.epochs, args.max_length, args.repeats = 8, 1, 64, 1
    cpus = usable_cpus()
    variants = {
        "one alone (budget: all CPUs)": [cpus],
        "two at once, no budget": [None, None],
        f"two at once, budget split ({worker_threads(cpus, 2)} each)": [worker_threads(cpus, 2)]
        * 2,
    }
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in variants}
    for repeat in range(args.repeats):
        for name, threads in variants.items():  # interleaved: load changes hit every variant
            runs[name].append(run_together(args, threads))
            print(f"repeat {repeat + 1} {name}: {runs[name][-1]['wall']:.1f} s", file=sys.stderr)

    def median(name: str, key: str) -> float:
        return statistics.median(r[key] for r in runs[name])

    alone = median(next(iter(variants)), "wall")
    print(
        f"{args.examples} Dolly examples, {args.epochs} epoch(s), max length {args.max_length}, "
        f"cpu-small fine-tunes; median of {args.repeats} repeat(s)\n{machine_line()}"
    )
    print(f"{'variant':<38} {'threads/run':>11} {'wall s':>8} {'train s/run':>12} "
          f"{'throughput vs alone':>20}")  # fmt: skip
    for name, threads in variants.items():
        speed = len(threads) * alone / median(name, "wall")  # fine-tunes/s against sequential
        print(
            f"{name:<38} {median(name, 'threads'):>11.0f} {median(name, 'wall'):>8.1f} "
            f"{median(name, 'train'):>12.1f} {speed:>19.2f}x"
        )


if __name__ == "__main__":
    main()
