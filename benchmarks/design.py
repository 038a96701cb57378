"""Designed subsets against Dirichlet subsets: does a d-optimal design of N/4 or N/2 fine-tunes
give a rule as precise as N Dirichlet subsets?

Real fine-tunes (`cpu-small`, SmolLM2-135M-Instruct) on the bundled demo pool, evaluated on the
demo's evaluation set and on a second set (MT-Bench). Arms, same subset size, seed and design
columns: Dirichlet N (the baseline), d-optimal N/4, d-optimal N/2, and d-optimal N/4 followed by
a sequential round that adds N/4 (its first N/4 runs are the d-optimal N/4 arm's, reused).

For each arm, with the rule fixed to the design columns (indicators standardised by the pool's
per-example sd, so coefficients are in the same units in every arm): runs, D-efficiency, the
geometric mean of the coefficients' standard errors, CV R² and Spearman (out-of-fold
predictions) of log eval loss on both evaluation sets, the permutation p of the CV R² (the
losses shuffled across subsets, `fit`'s own test), and the held-out loss of the rule's top n
against random n: `compare` trains both on the arm's rule over the compare seeds and measures
them on the fit set's held-out items (`holdout`, never fitted on) and on MT-Bench; the
difference is rule − random (negative: the rule's selection is better) with the paired
bootstrap's 95% interval over items and seeds.

    .venv/bin/python benchmarks/design.py --quick      # mechanics, minutes
    .venv/bin/python benchmarks/design.py              # the full table, on a quiet machine
    .venv/bin/python benchmarks/design.py --reuse WS --n 24  # a Dirichlet demo workspace's runs

`--reuse WS --n N` starts from a finished demo workspace with N Dirichlet subsets (the demo run
with `sampling: {design: dirichlet, subsets: N}`; same pool, indicators, evaluation sets and
fine-tuning settings as the full mode): its subsets and their run records are the Dirichlet arm,
so only the designed arms and the comparisons train. The N/4 arm needs N >= 20 to fit a
two-column rule with cross-validation.
"""

from __future__ import annotations

import argparse
import math
import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from machine import machine_line

FULL = {"n": 24, "size": 32, "max_length": 192, "eval": 48, "test": 12, "per_source": 120}
QUICK = {"n": 8, "size": 8, "max_length": 64, "eval": 8, "test": 4, "per_source": 24}
FULL_INDICATORS = ["length", "mtld", "ppl", "ifd", "knn"]
QUICK_INDICATORS = ["length", "mtld"]  # no model: the quick mode spends its time on fine-tunes
COMPARE_SEEDS = {"full": [0, 1], "quick": [0, 1]}  # compare needs two to measure noise
PERMUTATIONS = 200


def prepare(root: Path, sizes: dict, names: list[str], base_model: str | None = None):
    """The demo pipeline's pool, evaluation sets and indicators in `root/shared`."""
    from importlib import resources

    from instructmining.pipeline.config import load_config
    from instructmining.pipeline.run import Pipeline

    with resources.as_file(resources.files("instructmining.demo") / "demo.yaml") as path:
        config, base = load_config(path)
    exp = config.experiments
    config = config.model_copy(
        update={
            "pool": config.pool.model_copy(update={"per_source": sizes["per_source"]}),
            "indicators": config.indicators.model_copy(
                update={"names": names, "max_length": sizes["max_length"]}
            ),
            "experiments": exp.model_copy(
                update={
                    "eval": exp.eval.model_copy(update={"limit": sizes["eval"]}),
                    "test_eval": exp.test_eval.model_copy(update={"limit": sizes["test"]}),
                    "overrides": {
                        **exp.overrides,
                        "max_length": sizes["max_length"],
                        **({"base_model": base_model} if base_model else {}),
                    },
                }
            ),
        }
    )
    pipeline = Pipeline(config, base, root / "shared")
    with pipeline.ws.lock():
        pipeline.pool()
        pipeline.eval_sets()
        pipeline.indicators()
    return pipeline


def workspace(root: Path, name: str, shared: Path) -> Path:
    ws = root / name
    ws.mkdir(parents=True, exist_ok=True)
    for table in ("pool.parquet", "indicators.parquet"):
        shutil.copyfile(shared / table, ws / table)
    return ws


def run_arm(pipeline, ws: Path) -> None:
    from instructmining.experiments import run_experiments, save_settings

    config, tests = pipeline.experiment_config(), pipeline.test_paths
    save_settings(ws, pipeline.eval_path, config, [0], tests)  # compare trains the same way
    run_experiments(ws, pipeline.eval_path, config, [0], test_evals=tests)


def held_out_comparison(ws: Path, rule, n: int, seeds: list[int]) -> dict:
    """rule − random on the held-out items and MT-Bench, with the bootstrap's 95% interval."""
    from instructmining.selection.training import compare_workspace

    found = compare_workspace(ws, rule, n, seeds, progress=False)
    row = {}
    for eval_set, label in (("holdout", "heldout"), ("mt_bench", "mt_bench")):
        summary = found.summary
        hit = summary[(summary["eval_set"] == eval_set) & (summary["selector"] == "random")]
        if hit.empty:
            row[f"{label} top-random"] = "no runs"
            continue
        r = hit.iloc[0]
        row[f"{label} top-random"] = (
            f"{r['diff']:+.4f} [{r['boot_low']:+.4f}, {r['boot_high']:+.4f}]"
        )
    return row


def figures(ws: Path, columns: list[str], label: str) -> tuple[dict, object]:
    """Runs, D-efficiency, geometric-mean SE, CV R², Spearman and permutation p on both
    evaluation sets; and the rule fitted on the fit set (design columns, no search)."""
    import statsmodels.api as sm

    from instructmining.rule import fit_rule, load_fit_table
    from instructmining.sampling.design import d_efficiency
    from instructmining.sampling.designs import subset_means
    from instructmining.sampling.spread import indicator_space
    from instructmining.storage import read_parquet

    pool = read_parquet(ws / "pool.parquet")
    space = indicator_space(pool, read_parquet(ws / "indicators.parquet"), columns)
    subsets = read_parquet(ws / "subsets.parquet")
    runs = read_parquet(ws / "runs.parquet")
    ok = (runs["status"] == "ok") & (runs["subset_id"] != "__base__")
    runs = runs[ok & (runs["seed"] == 0)]  # one run per subset in every arm (no noise repeats)
    order = list(dict.fromkeys(subsets["subset_id"]))
    means = pd.DataFrame(subset_means(space, subsets), index=order, columns=columns)
    table = means.join(runs.groupby("subset_id")[["eval_loss", "test_loss__mt_bench"]].mean())
    table = table.dropna()
    row = {"arm": label, "runs": len(runs), "d_eff": d_efficiency(table[columns].to_numpy())}
    x = table[columns].to_numpy()
    rule = None
    for target, suffix in (("fit", ""), ("mt_bench", " (mt_bench)")):
        if len(table) < len(columns) + 3:
            for key in ("se_gmean", "cv_r2", "cv_spearman", "perm_p"):
                row[key + suffix] = math.nan
            continue
        column = "eval_loss" if target == "fit" else "test_loss__mt_bench"
        fit = sm.OLS(np.log(table[column].to_numpy()), sm.add_constant(x)).fit()
        row[f"se_gmean{suffix}"] = float(np.exp(np.log(fit.bse[1:]).mean()))
        found = fit_rule(
            load_fit_table(ws, target=target),
            indicators=columns,
            exact=True,
            permutations=PERMUTATIONS,
            jobs=2,
            cache_dir=ws / "cache",
        )
        stats = found.stats
        row[f"cv_r2{suffix}"] = stats["cv_r2"]
        row[f"cv_spearman{suffix}"] = stats["cv_spearman"]
        row[f"perm_p{suffix}"] = stats["permutation_p"]
        rule = found.rule if target == "fit" else rule
    return row, rule


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes: checks the mechanics")
    parser.add_argument("--root", type=Path, default=Path("/tmp/instructmining-design-bench"))
    parser.add_argument("--n", type=int, help="Dirichlet subsets (default 24, quick 8)")
    parser.add_argument("--columns", default=None, help="design and rule columns")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--base-model", default=None, help="another base model (a mechanics check)")
    parser.add_argument("--reuse", type=Path, help="a finished demo workspace: its Dirichlet runs")
    args = parser.parse_args()
    sizes = dict(QUICK if args.quick else FULL)
    if args.n:
        sizes["n"] = args.n
    names = QUICK_INDICATORS if args.quick else FULL_INDICATORS
    columns = (args.columns or ("output_len" if args.quick else "ppl,ifd")).split(",")
    root = args.root / ("quick" if args.quick else "full")

    from instructmining.sampling import add_subsets, build_design, read_design_info, write_design
    from instructmining.storage import read_parquet
    from instructmining.workspace import Workspace

    if args.reuse:
        found = read_parquet(args.reuse / "subsets.parquet")["subset_id"].nunique()
        if found != sizes["n"]:
            sys.exit(f"{args.reuse}: {found} subsets, not the {sizes['n']} of the Dirichlet arm")
        info = read_design_info(Workspace(args.reuse).mixtures) or {}
        if info.get("design", "dirichlet") != "dirichlet":
            sys.exit(f"{args.reuse}: a {info['design']} design, not the Dirichlet arm's subsets")
        shutil.copytree(args.reuse, root / "shared", dirs_exist_ok=True)  # pool stages up to date
    pipeline = prepare(root, sizes, names, args.base_model)
    shared = root / "shared"
    pool, indicators = (
        read_parquet(shared / "pool.parquet"),
        read_parquet(shared / "indicators.parquet"),
    )
    n, size, quarter = sizes["n"], sizes["size"], max(1, sizes["n"] // 4)
    rows, arms_done = [], []
    seeds = COMPARE_SEEDS["quick" if args.quick else "full"]
    arms = [("dirichlet", n, "dirichlet N"), ("d-optimal", quarter, "d-optimal N/4")]
    if not args.quick:
        arms.append(("d-optimal", 2 * quarter, "d-optimal N/2"))
    for design, count, label in arms:
        ws = workspace(root, label.replace(" ", "_").replace("/", "-"), shared)
        if args.reuse and design == "dirichlet":  # the demo's own subsets and runs
            for table in ("subsets.parquet", "runs.parquet", "runs_items.parquet"):
                shutil.copyfile(shared / table, ws / table)
            shutil.copytree(shared / "runs", ws / "runs", dirs_exist_ok=True)  # run records
        else:
            built = build_design(pool, count, size, args.seed, design, indicators, columns)
            write_design(built, ws / "subsets.parquet")
        run_arm(pipeline, ws)
        arms_done.append((ws, label))
    sequential = root / "d-optimal_N-4+seq"
    shutil.copytree(root / "d-optimal_N-4", sequential, dirs_exist_ok=True)  # its runs reused
    add_subsets(sequential, quarter)
    run_arm(pipeline, sequential)
    arms_done.append((sequential, "d-optimal N/4 + sequential N/4"))
    for ws, label in arms_done:
        row, rule = figures(ws, columns, label)
        if rule is not None:
            row |= held_out_comparison(ws, rule, size, seeds)
        rows.append(row)
        print(row, flush=True)

    table = pd.DataFrame(rows)
    print(
        f"\n{n} Dirichlet subsets of {size}, design and rule columns {', '.join(columns)}; "
        f"cpu-small, max_length {sizes['max_length']}, eval {sizes['eval']} items, 2nd set "
        f"{sizes['test']} (mt_bench); compare seeds {seeds}, permutations {PERMUTATIONS}"
    )
    print(machine_line())
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3g}"))
    baseline = table.iloc[0]
    for _, row in table.iloc[1:].iterrows():
        if math.isnan(row["se_gmean"]):
            print(
                f"{row['arm']}: {row['runs']} runs, too few for a rule of {len(columns)} "
                f"column(s) with cross-validation (needs {len(columns) + 3}): use a larger --n"
            )
            continue
        ratio = row["se_gmean"] / baseline["se_gmean"]
        print(
            f"{row['arm']}: {row['runs']} runs vs {baseline['runs']}; SE ratio {ratio:.2f} "
            f"(goal <= 1 at N/4); CV Spearman {row['cv_spearman']:.2f} vs "
            f"{baseline['cv_spearman']:.2f}"
        )


if __name__ == "__main__":
    main()
