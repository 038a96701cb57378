"""Share of examples that a token limit cuts, per real data set: what a shorter --max-length costs.

The indicators' default limit is chosen by device (instructmining.indicators.options): this
prints the figures quoted there, counting prompt + response tokens exactly as ppl/ifd encode
them (SmolLM2's tokenizer and chat template). It measures no time; the speed gained by a
shorter limit on a CPU is owed to a run of benchmarks/indicators.py on a quiet machine.

    .venv/bin/python benchmarks/max_length_truncation.py [--quick]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

SHARED = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
FILES = [
    "alpaca/alpaca_5000.json",
    "dolly/alpagasus_dolly_3k.json",
    "oasst1/oasst1_validation_en.jsonl",
    "lima/lima.json",
]
LIMITS = (512, 1024, 2048)


def main() -> None:
    from instructmining.data import build_pool
    from instructmining.indicators.perplexity import encode
    from instructmining.indicators.texts import user_text
    from instructmining.models.loader import DEFAULT_LM, load_tokenizer

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="First 200 examples of each file.")
    args = parser.parse_args()
    tokenizer = load_tokenizer(DEFAULT_LM)
    print(f"tokenizer {DEFAULT_LM}; limits {', '.join(map(str, LIMITS))}")
    for name in FILES:
        pool = build_pool(SHARED / name, on_error="skip").pool
        pool = pool.head(200) if args.quick else pool
        lengths = np.array(
            [
                len(e.prefix) + len(e.response)
                for e in (
                    encode(
                        tokenizer, r.system, user_text(r.instruction, r.input), r.output, 1 << 30
                    )
                    for r in pool.itertuples()
                )
            ]
        )
        p50, p90, p99 = np.percentile(lengths, [50, 90, 99])
        cut = ", ".join(f"over {n}: {(lengths > n).mean():.2%}" for n in LIMITS)
        print(f"{name}: {len(lengths)} examples, p50 {p50:.0f} p90 {p90:.0f} p99 {p99:.0f}; {cut}")


if __name__ == "__main__":
    main()
