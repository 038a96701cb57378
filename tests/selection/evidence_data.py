"""A workspace whose rule is fitted on Dirichlet subsets, so its own top n lies far outside them.

The pool's indicators `x1`, `x2` vary per example; the subsets are random mixtures, whose means
stay near the pool's mean. The runs' losses follow a planted line in the subset means (plus a
little seed noise), so the fitted rule is sure of its direction, and its top n, the most extreme
examples along it, is a corner no subset came near.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from instructmining.data import write_pool
from instructmining.rule.stage import fit_stage
from instructmining.sampling import build_design, write_design
from instructmining.storage import write_parquet

COLUMNS = ["x1", "x2"]
PLANTED = {"x1": -0.08, "x2": 0.05}


def evidence_pool(n: int = 200, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    ids = [f"ex{i:04d}" for i in range(n)]
    pool = pd.DataFrame(
        {
            "id": ids,
            "source": np.repeat(["a", "b", "c", "d"], n // 4),
            "instruction": [f"task {i}" for i in range(n)],
            "input": "",
            "output": [f"answer {i}" for i in range(n)],
            "system": "",
        }
    )
    indicators = pd.DataFrame(rng.standard_normal((n, len(COLUMNS))), columns=COLUMNS)
    indicators.insert(0, "id", ids)
    return pool, indicators


def planted_runs(subsets: pd.DataFrame, indicators: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """Two seeds per subset; log loss = 1 + the planted line at the subset's means + noise."""
    rng = np.random.default_rng(seed)
    means = subsets.merge(indicators, on="id").groupby("subset_id")[COLUMNS].mean()
    rows = []
    for subset_id, row in means.iterrows():
        log_loss = 1.0 + sum(PLANTED[c] * row[c] for c in COLUMNS)
        for s in (0, 1):
            loss = float(np.exp(log_loss + rng.normal(0, 0.002)))
            rows.append({"subset_id": subset_id, "seed": s, "eval_loss": loss, "status": "ok"})
    return pd.DataFrame(rows)


def evidence_workspace(root: Path, n_subsets: int = 10, size: int = 20) -> Path:
    """pool, indicators, a Dirichlet design, planted runs and a rule fitted on them."""
    pool, indicators = evidence_pool()
    write_pool(pool, root / "pool.parquet")
    write_parquet(indicators, root / "indicators.parquet")
    design = build_design(pool, n_subsets, size, 0, "dirichlet", indicators)
    write_design(design, root / "subsets.parquet")
    write_parquet(planted_runs(design.subsets, indicators), root / "runs.parquet")
    fit_stage(root, indicators=COLUMNS, exact=True, permutations=0, jobs=1)
    return root
