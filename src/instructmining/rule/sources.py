"""The per-source view: which sources each evaluation set rewards.

Subsets are grouped by their dominant source (the source with the largest share of their
examples); the mean loss of each group on each set shows which data each set prefers. The
mixture a set's rule would pick is the source make-up of the pool examples that rule ranks
best: where two sets' rules pick different sources, "good data" differs between them.

Not yet tied in: a mixture rule fitted on source shares alone (the RegMix-style baseline of the
evidence work) would give, per set, the mixture predicted best from the shares; when it is on
main, fit it on each set's log loss and store its mixture beside `rule_mixtures`.
"""

from __future__ import annotations

from typing import Any

import pandas as pd


def source_shares(subsets: pd.DataFrame, pool: pd.DataFrame) -> pd.DataFrame:
    """Share of each source (columns) among each subset's examples (rows, by subset_id)."""
    joined = (
        subsets[["subset_id", "id"]]
        .astype(str)
        .merge(pool[["id", "source"]].astype(str), on="id", how="inner")
    )
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
