"""A synthetic workspace with several evaluation sets: one that shares the fit set's signal and
one that ranks the subsets in the opposite order.

Three sources differ in their examples' reward; subsets mix them with Dirichlet weights, so
their mean reward and their dominant source vary. Losses per set:
    fit:     log L = 1.2 - 0.08 reward - 0.004 mtld
    alike:   log L = 0.9 - 0.06 reward - 0.003 mtld     (same ranking, other scale)
    opposed: log L = 0.5 + 0.08 reward + 0.004 mtld     (opposite ranking)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

SETS = {
    "fit": (1.2, -0.08, -0.004),
    "alike": (0.9, -0.06, -0.003),
    "opposed": (0.5, 0.08, 0.004),
}
SOURCE_REWARD = {"alpaca": 2.0, "dolly": 1.0, "lima": 0.0}  # alpaca is best on fit


def write_sets_workspace(
    root: Path, n_subsets: int = 24, size: int = 30, noise: float = 0.003, seed: int = 0
) -> Path:
    rng = np.random.default_rng(seed)
    sources = list(SOURCE_REWARD)
    per_source = n_subsets * size
    ids, source, reward = [], [], []
    for name in sources:
        ids += [f"{name}{i:05d}" for i in range(per_source)]
        source += [name] * per_source
        reward += list(rng.normal(SOURCE_REWARD[name], 0.5, per_source))
    pool = pd.DataFrame(
        {
            "id": ids,
            "source": source,
            "instruction": [f"instruction {i}" for i in ids],
            "input": "",
            "output": [f"output {i}" for i in ids],
            "system": "",
        }
    )
    n = len(ids)
    indicators = pd.DataFrame(
        {
            "id": ids,
            "reward": reward,
            "mtld": rng.normal(60.0, 30.0, n),
            "ppl": rng.lognormal(1.5, 0.5, n),
        }
    )
    rows = []
    by_source = {name: list(pool.index[pool["source"] == name]) for name in sources}
    for k in range(n_subsets):
        counts = rng.multinomial(size, rng.dirichlet([0.5] * len(sources)))
        for name, count in zip(sources, counts, strict=True):
            picked = rng.choice(by_source[name], count, replace=False)
            by_source[name] = [i for i in by_source[name] if i not in set(picked)]
            rows += [(f"s{k:03d}", ids[i]) for i in picked]
    subsets = pd.DataFrame(rows, columns=["subset_id", "id"])
    root.mkdir(parents=True, exist_ok=True)
    pool.to_parquet(root / "pool.parquet", index=False)
    indicators.to_parquet(root / "indicators.parquet", index=False)
    subsets.to_parquet(root / "subsets.parquet", index=False)
    means = subsets.merge(indicators, on="id").groupby("subset_id")[["reward", "mtld"]].mean()
    runs = []
    for sid, row in means.iterrows():
        losses = {
            name: float(np.exp(b0 + b1 * row["reward"] + b2 * row["mtld"] + rng.normal(0, noise)))
            for name, (b0, b1, b2) in SETS.items()
        }
        runs.append(
            {
                "subset_id": sid,
                "seed": 0,
                "eval_loss": losses.pop("fit"),
                **{f"test_loss__{name}": value for name, value in losses.items()},
                "status": "ok",
                "config_hash": "cfg1",
                "eval_hash": "eval1",
            }
        )
    pd.DataFrame(runs).to_parquet(root / "runs.parquet", index=False)
    return root
