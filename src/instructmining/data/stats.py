"""Pool summary: examples per source and length percentiles, to see what a pool is made of."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

PERCENTILES = (5, 25, 50, 75, 95)


@dataclass
class PoolStats:
    """`sources`: examples and share per source; `lengths`: one row per length measure."""

    sources: pd.DataFrame
    lengths: pd.DataFrame


def prompt_text(pool: pd.DataFrame) -> pd.Series:
    """Instruction and input joined the way a reader sees them."""
    return (pool["instruction"] + "\n" + pool["input"]).str.strip()


def pool_stats(pool: pd.DataFrame) -> PoolStats:
    """Examples per source and p5..p95 of characters and whitespace words of prompt and output."""
    counts = pool["source"].value_counts().sort_index()
    sources = pd.DataFrame(
        {
            "source": counts.index,
            "examples": counts.to_numpy(),
            "share": counts.to_numpy() / len(pool),
        }
    )
    texts = {"prompt": prompt_text(pool), "output": pool["output"]}
    rows = []
    for name, series in texts.items():
        for unit, values in (
            ("chars", series.str.len()),
            ("words", series.str.split().str.len()),
        ):
            points = (
                np.percentile(values.to_numpy(dtype=float), PERCENTILES)
                if len(pool)
                else [np.nan] * 5
            )
            rows.append(
                {
                    "measure": f"{name} {unit}",
                    **{f"p{p}": v for p, v in zip(PERCENTILES, points, strict=True)},
                }
            )
    return PoolStats(sources, pd.DataFrame(rows))
