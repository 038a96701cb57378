"""The per-source view: which sources each evaluation set rewards.

Subsets are grouped by their dominant source (the source with the largest share of their
examples); the mean loss of each group on each set shows which data each set prefers. The
mixture a set's rule would pick is the source make-up of the pool examples that rule ranks
best: where two sets' rules pick different sources, "good data" differs between them.

Beside it, the mixture rule (`rule.mixture`: log loss on source shares alone, RegMix-style)
fitted on each set gives the mixture that set's losses predict best from the shares, with its
CV R²: where the indicator rule and the mixture rule pick alike, the indicators add little
beyond the sources.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from instructmining.errors import UserError


def source_shares(subsets: pd.DataFrame, pool: pd.DataFrame) -> pd.DataFrame:
    """Share of each source (columns) among each subset's examples (rows, by subset_id); the
    per-source view and the mixture rule both read it."""
    joined = (
        subsets[["subset_id", "id"]]
        .astype(str)
        .merge(pool[["id", "source"]].astype(str), on="id", how="left")
    )
    if joined["source"].isna().any():
        raise UserError("subsets hold example ids that are not in the pool (no source known)")
    counts = pd.crosstab(joined["subset_id"], joined["source"])
    return counts.div(counts.sum(axis=1), axis=0)


def source_view(losses: pd.DataFrame, shares: pd.DataFrame) -> list[dict[str, Any]]:
    """Mean loss on every set (columns of `losses`) of the subsets dominated by each source:
    `[{"source", "n_subsets", "mean_share", "loss": {set: mean loss}}]`, sources by name."""
    common = losses.index.intersection(shares.index)
    if common.empty:
        return []
    shares = shares.loc[common]
    dominant = shares.idxmax(axis=1)
    out = []
    for source, members in dominant.groupby(dominant, sort=True).groups.items():
        out.append(
            {
                "source": str(source),
                "n_subsets": int(len(members)),
                "mean_share": float(shares.loc[members, source].mean()),
                "loss": {str(s): float(losses.loc[members, s].mean()) for s in losses.columns},
            }
        )
    return out


def source_view_table(view: list[dict[str, Any]]) -> pd.DataFrame:
    """The per-source view as a table: one row per dominant source, one loss column per set."""
    rows = [
        {"dominant source": r["source"], "subsets": r["n_subsets"], "share": r["mean_share"]}
        | {f"loss {s}": v for s, v in r["loss"].items()}
        for r in view
    ]
    return pd.DataFrame(rows)


def picked_mixture(scores: pd.Series, pool: pd.DataFrame, n: int) -> dict[str, float]:
    """Source shares of the `n` pool examples with the lowest predicted loss (`scores` by id)."""
    best = scores.dropna().sort_values(kind="stable").head(n)
    sources = pool.astype({"id": str}).set_index("id").loc[best.index.astype(str), "source"]
    shares = sources.astype(str).value_counts(normalize=True).sort_index()
    return {str(k): float(v) for k, v in shares.items()}


def mixture_rows(mixtures: dict[str, Any]) -> pd.DataFrame:
    """Source shares (columns) of the pool, of each target rule's top n examples, and of the
    best mixture the mixture rule predicts for each target (`rule_mixtures` in rule.json)."""
    rows = {"pool": mixtures["pool"], **mixtures["picked"]}
    by_shares = mixtures.get("mixture_rule") or {}
    rows |= {f"{name} (mixture rule)": m["best_mixture"] for name, m in by_shares.items()}
    return pd.DataFrame(rows).T.fillna(0.0)
