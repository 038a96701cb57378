"""Which design and which way of choosing give a selection that beats random where it counts?

On the demo pool, for each design (dirichlet, d-optimal, selections; the demo's subset count
and size, every indicator column as the design columns) the demo pipeline runs its subsets, fits
the rule as the demo does, and `compare` measures three ways of choosing n examples against
random n, every fine-tune evaluated on the held-out items and MT-Bench:

- top: the rule's unconstrained top n (compare's `rule-top` baseline, an extrapolation);
- inside: the best selection inside the evidence (compare's rule arm, as `select --rule`);
- refine: the selection inside the evidence after `--rounds` refine rounds (the closed loop
  fine-tunes its own prediction, adds it as a subset and refits).

Each row: the difference selection − random (negative: the selection is better) on the held-out
items and on MT-Bench with the paired bootstrap's 95% interval over items and seeds (the interval
the verdict decides by), the fine-tunes the way needed (subsets, refine rounds and its own
compare seeds; random's seeds are the yardstick, counted once per design below the table) and
the wall time of the stages it needed in this invocation (reused runs cost nothing), under the
machine line that names the CPU.

    .venv/bin/python benchmarks/selection.py --quick           # mechanics, a few minutes
    .venv/bin/python benchmarks/selection.py                   # the full table: hours
    .venv/bin/python benchmarks/selection.py --reuse demo-workspace  # the demo's runs reused

`--reuse WS` starts from a finished demo workspace (`instructmining demo -o WS`, same pool,
indicators, evaluation sets and fine-tuning settings as the full mode): its pool stages and its
run records (experiments and compare) are copied in, and run records are keyed by subset and
content, so a design subset, refine round or random selection the demo already trained is not
trained again (the demo's selections design and first refine round are the `selections` arm's).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from importlib import resources
from pathlib import Path

import pandas as pd
from machine import machine_line

DESIGNS = ("dirichlet", "d-optimal", "selections")
RANDOM = "random"
SETS = {"holdout": "held-out", "mt_bench": "mt_bench"}
# The pool, evaluation sets and indicators an arm shares with the others (and their markers).
SHARED = ("pool.parquet", "indicators.parquet", "eval*.parquet", "test_eval*.parquet")
SHARED += ("holdout.json", "overlap.json", "overlap.parquet")
SHARED_STAGES = ("eval", "test_eval*", "pool", "indicators")
RECORDS = ("runs", "compare_runs")  # run-record folders: reused where subset and content match
QUICK_INDICATORS = ["length", "mtld"]  # no model: the quick mode spends its time on fine-tunes


def demo_config(quick: bool, base_model: str | None = None):
    """The demo's config (the quick demo's in --quick) with a comparison that adds `rule-top`,
    refine off (a second pass turns it on), no select, search or report; `base_model` replaces
    the fine-tuned model (a mechanics check)."""
    from instructmining.pipeline.config import CompareConfig, load_config

    name = "demo-quick.yaml" if quick else "demo.yaml"
    with resources.as_file(resources.files("instructmining.demo") / name) as path:
        config, base = load_config(path)
    n = config.compare.n
    update = {
        "refine": None,
        "select": None,
        "search": None,
        "report": False,
        "compare": CompareConfig(n=n, seeds=config.compare.seeds, baselines=["rule-top"]),
    }
    exp = config.experiments
    if base_model:
        exp = exp.model_copy(update={"overrides": {**exp.overrides, "base_model": base_model}})
    if quick:
        update["indicators"] = config.indicators.model_copy(update={"names": QUICK_INDICATORS})
        update["sampling"] = config.sampling.model_copy(update={"subsets": 6})
        exp = exp.model_copy(update={"noise_subsets": 0})
        update["fit"] = config.fit.model_copy(update={"permutations": 20})
    update["experiments"] = exp
    return config.model_copy(update=update), base


def prepare(root: Path, config, base: Path, reuse: Path | None):
    """The shared workspace: the pool, evaluation sets and indicators, built once (or taken
    from `reuse`, whose run records come along)."""
    from instructmining.pipeline.run import Pipeline

    shared = root / "shared"
    if reuse is not None:
        if not (reuse / "pool.parquet").is_file():
            sys.exit(f"{reuse}: not a finished demo workspace (no pool.parquet)")
        copy_shared(reuse, shared)
    pipeline = Pipeline(config, base, shared)
    with pipeline.ws.lock():
        pipeline.eval_sets()
        pipeline.pool()
        pipeline.indicators()
    return shared


def copy_shared(source: Path, target: Path) -> None:
    """The tables and markers every arm shares, and the run records it may reuse."""
    (target / "stages").mkdir(parents=True, exist_ok=True)
    for pattern in SHARED:
        for path in source.glob(pattern):
            shutil.copyfile(path, target / path.name)
    for pattern in SHARED_STAGES:
        for path in (source / "stages").glob(f"{pattern}.json"):
            shutil.copyfile(path, target / "stages" / path.name)
    for folder in RECORDS:
        if (source / folder).is_dir():
            shutil.copytree(source / folder, target / folder, dirs_exist_ok=True)


def differences(found, selector: str) -> dict[str, str]:
    """selector − random per set: the mean difference and the bootstrap's 95% interval."""
    from instructmining.selection.compare import summarize_comparison

    summary = summarize_comparison(found.runs, reference=selector, items=found.items)
    row = {}
    for eval_set, label in SETS.items():
        hit = summary[(summary["eval_set"] == eval_set) & (summary["selector"] == RANDOM)]
        if hit.empty:
            row[label] = "no runs"
            continue
        r = hit.iloc[0]
        row[label] = f"{r['diff']:+.4f} [{r['boot_low']:+.4f}, {r['boot_high']:+.4f}]"
    return row


def design_runs(ws: Path) -> int:
    """Finished fine-tunes of the design's subsets (the untrained baseline is not one)."""
    from instructmining.storage import read_parquet

    runs = read_parquet(ws / "runs.parquet")
    return int(((runs["status"] == "ok") & (runs["subset_id"] != "__base__")).sum())


def run_design(root: Path, shared: Path, config, base: Path, design: str, rounds: int) -> list:
    """The three ways of choosing for one design: (way, fine-tunes, seconds, comparison,
    selector). Two passes of the demo pipeline: subsets, experiments, fit and compare (rule,
    rule-top, random); then refine and compare again (the random selections are reused)."""
    from instructmining.pipeline.config import RefineConfig
    from instructmining.pipeline.run import Pipeline

    ws = root / design
    copy_shared(shared, ws)
    for other in DESIGNS:  # random selections another design trained already
        if other != design and (root / other / "compare_runs").is_dir():
            shutil.copytree(root / other / "compare_runs", ws / "compare_runs", dirs_exist_ok=True)
    sampling = config.sampling.model_copy(update={"design": design})
    first = config.model_copy(update={"sampling": sampling})
    seeds, n = first.compare.seeds, first.compare.n
    start = time.monotonic()
    Pipeline(first, base, ws).run()
    elapsed = time.monotonic() - start
    found, used = _comparison(ws), design_runs(ws)
    rows = [
        ("top", used + seeds, elapsed, found, "rule-top"),
        ("inside", used + seeds, elapsed, found, "rule"),
    ]
    second = first.model_copy(
        update={
            "refine": RefineConfig(rounds=rounds, n=n),
            "compare": first.compare.model_copy(update={"baselines": []}),
        }
    )
    start = time.monotonic()
    Pipeline(second, base, ws).run()
    elapsed += time.monotonic() - start
    rows.append(("refine", design_runs(ws) + seeds, elapsed, _comparison(ws), "rule"))
    return rows


def _comparison(ws: Path):
    """The comparison the pipeline wrote, read back (runs and per-item losses)."""
    from instructmining.selection.compare import Comparison
    from instructmining.storage import read_parquet

    return Comparison(
        read_parquet(ws / "compare.parquet"),
        read_parquet(ws / "compare_summary.parquet"),
        read_parquet(ws / "compare_items.parquet"),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes: checks the mechanics")
    parser.add_argument("--root", type=Path, default=Path("/tmp/instructmining-selection-bench"))
    parser.add_argument("--rounds", type=int, default=None, help="refine rounds (2; quick 1)")
    parser.add_argument("--reuse", type=Path, help="a finished demo workspace: its runs reused")
    parser.add_argument("--designs", default=",".join(DESIGNS), help="comma-separated")
    parser.add_argument("--base-model", default=None, help="another base model (a mechanics check)")
    args = parser.parse_args()
    rounds = args.rounds or (1 if args.quick else 2)
    designs = [d.strip() for d in args.designs.split(",") if d.strip()]
    unknown = [d for d in designs if d not in DESIGNS]
    if unknown:
        sys.exit(f"--designs: unknown {', '.join(unknown)} (choose from {', '.join(DESIGNS)})")
    config, base = demo_config(args.quick, args.base_model)
    root = args.root / ("quick" if args.quick else "full")
    began = time.monotonic()
    shared = prepare(root, config, base, args.reuse)
    rows = []
    for design in designs:
        for way, tunes, seconds, found, selector in run_design(
            root, shared, config, base, design, rounds
        ):
            row = {"design": design, "way": way, **differences(found, selector)}
            rows.append(row | {"fine-tunes": tunes, "wall s": round(seconds)})
            print(rows[-1], flush=True)
    cfg = config
    print(
        f"\n{cfg.sampling.subsets} subsets of {cfg.sampling.size} per design; n {cfg.compare.n}; "
        f"compare seeds 0..{cfg.compare.seeds - 1} (random: {cfg.compare.seeds} fine-tunes per "
        f"design, not counted above); refine {rounds} round(s); differences: selection - random, "
        "95% paired bootstrap over items and seeds; fine-tunes: subsets (with seed-noise "
        "repeats), refine rounds and the way's own compare seeds; "
        f"total wall {time.monotonic() - began:.0f} s"
    )
    print(machine_line())
    print(pd.DataFrame(rows).to_string(index=False))


if __name__ == "__main__":
    main()
