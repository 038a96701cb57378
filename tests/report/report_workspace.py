"""A synthetic but realistic workspace: every table the report reads, with a known signal.

Indicators differ by source, subset eval loss follows a linear rule in the subset means plus
seed noise, and rule.json is what the fit stage writes for those runs.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from instructmining.rule import fit_rule, load_fit_table
from instructmining.storage import write_json, write_parquet

SOURCES = {"alpaca": (40, 3.0, 8.0), "dolly": (90, 2.2, 20.0), "lima": (400, 1.6, 60.0)}
NASTY = "<script>alert('x')</script> & <b>bold</b>"


def make_pool(rng: np.random.Generator, per_source: int = 100) -> pd.DataFrame:
    words = "data model answer question write explain list code story summary plan".split()
    rows = []
    for source in SOURCES:
        for i in range(per_source):
            text = " ".join(rng.choice(words, size=rng.integers(5, 40)))
            rows.append({
                "id": f"{source[:2]}{i:05d}", "source": source,
                "instruction": f"{source} task {i}: {text}", "input": "" if i % 3 else "some input",
                "output": f"answer {i} " + " ".join(rng.choice(words, size=rng.integers(10, 200))),
                "system": "",
            })  # fmt: skip
    rows[7]["instruction"] = NASTY
    return pd.DataFrame(rows)


def make_indicators(rng: np.random.Generator, pool: pd.DataFrame) -> pd.DataFrame:
    cols: dict[str, list[float]] = {
        c: [] for c in ["input_len", "output_len", "ppl", "ifd", "mtld", "reward"]
    }
    for source in pool["source"]:
        out_len, reward, mtld = SOURCES[source]
        cols["input_len"].append(float(rng.integers(5, 80)))
        cols["output_len"].append(float(rng.poisson(out_len * 3)))
        cols["ppl"].append(float(np.exp(rng.normal(1.5, 1.2))))
        cols["ifd"].append(float(rng.beta(5, 2)))
        cols["mtld"].append(float(rng.gamma(4, mtld / 4)))
        cols["reward"].append(float(rng.normal(reward, 1.0)))
    df = pd.DataFrame({"id": pool["id"], **cols})
    df["reward_copy"] = df["reward"] * 2 + rng.normal(0, 0.1, len(df))  # a collinear pair
    return df


def build_workspace(root: Path, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    pool = make_pool(rng)
    indicators = make_indicators(rng, pool)
    write_parquet(pool, root / "pool.parquet")
    write_parquet(indicators, root / "indicators.parquet")

    subsets = []
    for s in range(24):
        mix = rng.dirichlet([0.5] * len(SOURCES))
        counts = rng.multinomial(40, mix)
        for source, k in zip(SOURCES, counts, strict=True):
            ids = pool.loc[pool["source"] == source, "id"].to_numpy()
            subsets += [
                {"subset_id": f"s{s:03d}", "id": i} for i in rng.choice(ids, k, replace=False)
            ]
    subsets = pd.DataFrame(subsets)
    write_parquet(subsets, root / "subsets.parquet")

    means = subsets.merge(indicators, on="id").drop(columns="id").groupby("subset_id").mean()
    true_log = 1.05 - 0.02 * means["reward"] - 0.002 * means["mtld"]
    runs = [{"subset_id": "__base__", "seed": 0, "eval_loss": 3.1, "status": "ok"}]
    for k, (subset_id, value) in enumerate(true_log.items()):
        for seed in range(3 if k < 5 else 1):
            runs.append(
                {
                    "subset_id": subset_id,
                    "seed": seed,
                    "status": "ok",
                    "eval_loss": float(np.exp(value + rng.normal(0, 0.004))),
                    # A second evaluation set that ranks the subsets the other way round.
                    "test_loss__mtbench": float(np.exp(2.1 - value + rng.normal(0, 0.004))),
                }
            )
    runs.append({"subset_id": "s000", "seed": 9, "eval_loss": float("nan"), "status": "failed"})
    runs = pd.DataFrame(runs)
    runs["train_loss"] = runs["eval_loss"] * 0.8
    runs["config_hash"] = "c0ffee"
    runs["eval_hash"] = "e7a1"
    runs["error"] = np.where(runs["status"] == "failed", "out of memory", "")
    write_parquet(runs, root / "runs.parquet")
    write_json(fit_rule(load_fit_table(root)).rule.to_dict(), root / "rule.json")

    scores = 1.05 - 0.02 * indicators["reward"] - 0.002 * indicators["mtld"]
    scores[indicators["id"] == pool["id"][7]] = scores.min() - 1  # the nasty text ranks first
    selection = pd.DataFrame({"id": indicators["id"], "score": scores})
    selection["rank"] = selection["score"].rank(method="first").astype(int)
    write_parquet(selection, root / "selected.scores.parquet")

    n = np.round(np.exp(rng.uniform(np.log(20), np.log(300), 12))).astype(int)
    loss = 2.6 + 0.05 * (np.log(n) - np.log(90)) ** 2 + rng.normal(0, 0.005, len(n))
    search = pd.DataFrame(
        {
            "trial": range(len(n)),
            "n": n,
            "eval_loss": loss,
            "test_loss": loss + 0.1 + rng.normal(0, 0.01, len(n)),
        }
    )
    write_parquet(search, root / "search.parquet")

    rows = []
    for selector, shift in (
        ("rule", -0.02),
        ("random", 0.0),
        ("ifd", -0.01),
        ("length", 0.01),
    ):
        for n_sel in (100, 200):
            for seed in range(3):
                value = 2.7 + shift - 0.0002 * n_sel + rng.normal(0, 0.005)
                rows.append(
                    {
                        "selector": selector,
                        "seed": seed,
                        "n": n_sel,
                        "eval_loss": value,
                        "test_loss__mtbench": value + 0.2 + rng.normal(0, 0.01),
                    }
                )
    write_parquet(pd.DataFrame(rows), root / "compare.parquet")
    return root
