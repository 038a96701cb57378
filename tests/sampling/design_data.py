"""A synthetic pool with known indicator structure, shared by the design tests.

Four sources of equal size whose indicators differ only slightly in mean (as real sources do
on most indicators), with independent per-example variation: Dirichlet mixtures barely move
the subset means, while examples chosen along indicator directions move them far.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from instructmining.data import write_pool
from instructmining.rule import Rule
from instructmining.sampling import build_design, write_design
from instructmining.storage import read_parquet, write_json, write_parquet

COLUMNS = ["x1", "x2", "x3"]


def synthetic_pool(n: int = 240, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    sources = np.repeat(["a", "b", "c", "d"], n // 4)
    shift = {"a": 0.2, "b": -0.2, "c": 0.1, "d": -0.1}
    values = rng.standard_normal((n, len(COLUMNS)))
    values[:, 0] += np.array([shift[s] for s in sources])
    ids = [f"ex{i:04d}" for i in range(n)]
    pool = pd.DataFrame(
        {
            "id": ids,
            "source": sources,
            "instruction": [f"task {i}" for i in range(n)],
            "input": "",
            "output": [f"answer {i}" for i in range(n)],
            "system": "",
        }
    )
    indicators = pd.DataFrame(values, columns=COLUMNS)
    indicators.insert(0, "id", ids)
    return pool, indicators


def recomputed_top(pool: pd.DataFrame, indicators: pd.DataFrame, origin: dict, size: int) -> set:
    """The top `size` ids under a stored weighting, worked out from the raw tables: columns
    standardised (sd with ddof 1) over the pool's examples with indicators, sorted by id."""
    columns = list(origin["weights"])
    table = indicators[indicators["id"].isin(pool["id"])].sort_values("id")
    values = table[columns].to_numpy()
    z = (values - values.mean(axis=0)) / values.std(axis=0, ddof=1)
    score = z @ np.array([origin["weights"][c] for c in columns])
    if origin["noise_seed"] is not None:
        noise = np.random.default_rng(origin["noise_seed"]).standard_normal(len(table))
        score = score + origin["temperature"] * noise
    return set(table["id"].to_numpy()[np.argsort(-score, kind="stable")[:size]])


def members(subsets: pd.DataFrame) -> dict[str, set]:
    """Each subset's ids, in order of first appearance."""
    return {sid: set(g["id"]) for sid, g in subsets.groupby("subset_id", sort=False)}


def jaccard(a: set, b: set) -> float:
    """Shared members over all members of two subsets."""
    return len(a & b) / len(a | b)


def synthetic_workspace(root, n_subsets: int = 8, size: int = 12, design: str = "dirichlet"):
    """pool.parquet, indicators.parquet and a first design in `root`; returns the root."""
    pool, indicators = synthetic_pool()
    write_pool(pool, root / "pool.parquet")
    write_parquet(indicators, root / "indicators.parquet")
    built = build_design(pool, n_subsets, size, 0, design, indicators)
    write_design(built, root / "subsets.parquet")
    return root


class FakeLoop:
    """Stands in for experiment and fit: every subset 'runs'; the fit's CV R² follows a script."""

    def __init__(self, ws, scores: list[float], kill_at: int | None = None) -> None:
        self.ws, self.scores, self.kill_at, self.fits = ws, scores, kill_at, 0

    def experiment(self) -> None:
        ids = read_parquet(self.ws / "subsets.parquet")["subset_id"].unique()
        runs = pd.DataFrame({"subset_id": ids, "status": "ok", "eval_loss": 1.0})
        write_parquet(runs, self.ws / "runs.parquet")
        if self.kill_at is not None and len(ids) >= self.kill_at:
            self.kill_at = None
            raise KeyboardInterrupt

    def fit(self) -> None:
        cv_r2 = self.scores[min(self.fits, len(self.scores) - 1)]
        self.fits += 1
        rule = Rule("rule", "ols", ["x1"], 0.0, {"x1": 0.1}, info={"fit": {"cv_r2": cv_r2}})
        write_json(rule.to_dict(), self.ws / "rule.json")
