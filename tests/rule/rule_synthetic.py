"""Synthetic experiment tables generated from a known linear rule plus noise."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

TRUE_INTERCEPT = 1.2
TRUE = {"reward": -0.08, "mtld": -0.004}  # log eval loss = 1.2 - 0.08 reward - 0.004 mtld
NOISE = 0.01


def subset_table(n: int = 60, seed: int = 0, noise: float = NOISE) -> pd.DataFrame:
    """One row per subset: true indicators, correlated and independent distractors, target."""
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "reward": rng.normal(1.0, 0.5, n),
            "mtld": rng.normal(60.0, 12.0, n),
            "ppl": rng.lognormal(1.5, 0.3, n),
            "output_len": rng.normal(200, 40, n),
            "ifd": rng.uniform(0.5, 0.95, n),
        }
    )
    df["input_len"] = 0.5 * df["output_len"] + rng.normal(0, 10, n)  # collinear distractor
    df["log_eval_loss"] = (
        TRUE_INTERCEPT + sum(b * df[c] for c, b in TRUE.items()) + rng.normal(0, noise, n)
    )
    df.insert(0, "subset_id", [f"s{i:03d}" for i in range(n)])
    return df


def write_workspace(
    root: Path, n_subsets: int = 30, size: int = 20, seeds: int = 2, seed: int = 0
) -> Path:
    """pool, indicators, subsets and runs tables whose subset means follow the known rule."""
    rng = np.random.default_rng(seed)
    n_pool = n_subsets * size
    ids = [f"ex{i:05d}" for i in range(n_pool)]
    pool = pd.DataFrame(
        {
            "id": ids,
            "source": rng.choice(["alpaca", "dolly", "lima"], n_pool),
            "instruction": [f"instruction {i}" for i in range(n_pool)],
            "input": "",
            "output": [f"output {i}" for i in range(n_pool)],
            "system": "",
        }
    )
    indicators = pd.DataFrame(
        {
            "id": ids,
            "reward": rng.normal(1.0, 1.5, n_pool),
            "mtld": rng.normal(60.0, 40.0, n_pool),
            "ppl": rng.lognormal(1.5, 0.5, n_pool),
            "output_len": rng.normal(200, 100, n_pool),
        }
    )
    # Subsets drawn with different tilts so that their means spread.
    order = np.argsort(indicators["reward"].to_numpy() + rng.normal(0, 2.0, n_pool))
    subsets = pd.DataFrame(
        {
            "subset_id": [f"s{i:03d}" for i in range(n_subsets) for _ in range(size)],
            "id": [ids[j] for j in order],
        }
    )
    root.mkdir(parents=True, exist_ok=True)
    pool.to_parquet(root / "pool.parquet", index=False)
    indicators.to_parquet(root / "indicators.parquet", index=False)
    subsets.to_parquet(root / "subsets.parquet", index=False)
    means = subsets.merge(indicators, on="id").groupby("subset_id")[list(TRUE)].mean()
    log_loss = TRUE_INTERCEPT + sum(b * means[c] for c, b in TRUE.items())
    rows = [
        {
            "subset_id": sid,
            "seed": s,
            "eval_loss": float(np.exp(value + rng.normal(0, 0.003))),
            "status": "ok",
            "config_hash": "cfg1",
            "eval_hash": "eval1",
        }
        for sid, value in log_loss.items()
        for s in range(seeds)
    ]
    rows.append(
        {
            "subset_id": "__base__",
            "seed": 0,
            "eval_loss": 9.0,
            "status": "ok",
            "config_hash": "cfg1",
            "eval_hash": "eval1",
        }
    )
    rows.append(
        {
            "subset_id": "s000",
            "seed": 7,
            "eval_loss": float("nan"),
            "status": "failed",
            "config_hash": "cfg1",
            "eval_hash": "eval1",
        }
    )
    pd.DataFrame(rows).to_parquet(root / "runs.parquet", index=False)
    return root
