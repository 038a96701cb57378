"""Designed subsets against Dirichlet subsets: does a d-optimal design of N/4 or N/2 fine-tunes
give a rule as precise as N Dirichlet subsets?

Real fine-tunes (`cpu-small`, SmolLM2-135M-Instruct) on the bundled demo pool, evaluated on the
demo's evaluation set and on a second set (MT-Bench). Arms, same subset size, seed and design
columns: Dirichlet N (the baseline), d-optimal N/4, d-optimal N/2, and d-optimal N/4 followed by
a sequential round that adds N/4 (its first N/4 runs are the d-optimal N/4 arm's, reused).

For each arm, with the rule fixed to the design columns (indicators standardised by the pool's
per-example sd, so coefficients are in the same units in every arm): runs, D-efficiency, the
geometric mean of the coefficients' standard errors, CV R² and Spearman (out-of-fold
predictions) of log eval loss on both evaluation sets. The permutation p and the held-out loss
of the rule's top n against random n come from the evidence issue (#14), not on main yet: their
columns say so rather than show a number.

    .venv/bin/python benchmarks/design.py --quick      # mechanics, minutes
    .venv/bin/python benchmarks/design.py              # the full table, on a quiet machine
"""

from __future__ import annotations

import argparse
import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

FULL = {"n": 24, "size": 32, "max_length": 192, "eval": 32, "test": 12, "per_source": 120}
QUICK = {"n": 8, "size": 8, "max_length": 64, "eval": 4, "test": 4, "per_source": 24}
FULL_INDICATORS = ["length", "mtld", "ppl", "ifd", "knn"]
QUICK_INDICATORS = ["length", "mtld"]  # no model: the quick mode spends its time on fine-tunes
NEEDS_14 = "needs #14"


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
    from instructmining.experiments import run_experiments

    tests = {"test": pipeline.test_path}
    run_experiments(ws, pipeline.eval_path, pipeline.experiment_config(), [0], test_evals=tests)


def figures(ws: Path, columns: list[str], label: str) -> dict:
    """Runs, D-efficiency, geometric-mean SE, CV R² and Spearman on both evaluation sets."""
    import statsmodels.api as sm
    from scipy.stats import spearmanr

    from instructmining.rule.regression import cv_splits, ols_cv_predictions, q_squared
    from instructmining.sampling.design import d_efficiency
    from instructmining.sampling.designs import subset_means
    from instructmining.sampling.spread import indicator_space
    from instructmining.storage import read_parquet

    pool = read_parquet(ws / "pool.parquet")
    space = indicator_space(pool, read_parquet(ws / "indicators.parquet"), columns)
    subsets = read_parquet(ws / "subsets.parquet")
    runs = read_parquet(ws / "runs.parquet")
    runs = runs[(runs["status"] == "ok") & (runs["subset_id"] != "__base__")]
    order = list(dict.fromkeys(subsets["subset_id"]))
    means = pd.DataFrame(subset_means(space, subsets), index=order, columns=columns)
    table = means.join(runs.groupby("subset_id")[["eval_loss", "test_loss__test"]].mean())
    table = table.dropna()
    row = {"arm": label, "runs": len(runs), "d_eff": d_efficiency(table[columns].to_numpy())}
    x = table[columns].to_numpy()
    for target, suffix in (("eval_loss", ""), ("test_loss__test", " (2nd set)")):
        y = np.log(table[target].to_numpy())
        if len(y) < len(columns) + 3:
            row |= {f"se_gmean{suffix}": math.nan, f"cv_r2{suffix}": math.nan}
            row[f"cv_spearman{suffix}"] = math.nan
            continue
        fit = sm.OLS(y, sm.add_constant(x)).fit()
        row[f"se_gmean{suffix}"] = float(np.exp(np.log(fit.bse[1:]).mean()))
        splits, _ = cv_splits(len(y), 5)
        predicted = ols_cv_predictions(x, y, splits)
        row[f"cv_r2{suffix}"] = q_squared(y, predicted)
        row[f"cv_spearman{suffix}"] = float(spearmanr(predicted, y).statistic)
    row["perm_p"] = NEEDS_14
    row["heldout_top_vs_random"] = NEEDS_14
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes: checks the mechanics")
    parser.add_argument("--root", type=Path, default=Path("/tmp/instructmining-design-bench"))
    parser.add_argument("--n", type=int, help="Dirichlet subsets (default 24, quick 8)")
    parser.add_argument("--columns", default=None, help="design and rule columns")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--base-model", default=None, help="another base model (a mechanics check)")
    args = parser.parse_args()
    sizes = dict(QUICK if args.quick else FULL)
    if args.n:
        sizes["n"] = args.n
    names = QUICK_INDICATORS if args.quick else FULL_INDICATORS
    columns = (args.columns or ("output_len" if args.quick else "ppl,ifd")).split(",")
    root = args.root / ("quick" if args.quick else "full")

    import torch

    from instructmining.sampling import add_subsets, build_design, write_design
    from instructmining.storage import read_parquet

    pipeline = prepare(root, sizes, names, args.base_model)
    shared = root / "shared"
    pool, indicators = (
        read_parquet(shared / "pool.parquet"),
        read_parquet(shared / "indicators.parquet"),
    )
    n, size, quarter = sizes["n"], sizes["size"], max(1, sizes["n"] // 4)
    rows = []
    arms = [("dirichlet", n, "dirichlet N"), ("d-optimal", quarter, "d-optimal N/4")]
    if not args.quick:
        arms.append(("d-optimal", 2 * quarter, "d-optimal N/2"))
    for design, count, label in arms:
        ws = workspace(root, label.replace(" ", "_").replace("/", "-"), shared)
        built = build_design(pool, count, size, args.seed, design, indicators, columns)
        write_design(built, ws / "subsets.parquet")
        run_arm(pipeline, ws)
        rows.append(figures(ws, columns, label))
        print(rows[-1], flush=True)
    sequential = root / "d-optimal_N-4"  # the N/4 arm's runs are reused by subset contents
    add_subsets(sequential, quarter)
    run_arm(pipeline, sequential)
    rows.append(figures(sequential, columns, "d-optimal N/4 + sequential N/4"))

    table = pd.DataFrame(rows)
    print(
        f"\n{n} Dirichlet subsets of {size}, design and rule columns {', '.join(columns)}; "
        f"cpu-small, max_length {sizes['max_length']}, eval {sizes['eval']} items, 2nd set "
        f"{sizes['test']}; torch threads {torch.get_num_threads()}"
    )
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3g}"))
    baseline = table.iloc[0]
    for _, row in table.iloc[1:].iterrows():
        ratio = row["se_gmean"] / baseline["se_gmean"]
        print(
            f"{row['arm']}: {row['runs']} runs vs {baseline['runs']}; SE ratio {ratio:.2f} "
            f"(goal <= 1 at N/4); CV Spearman {row['cv_spearman']:.2f} vs "
            f"{baseline['cv_spearman']:.2f}"
        )


if __name__ == "__main__":
    main()
