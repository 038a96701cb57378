"""The evaluation-set figures as plain text, for `fit`, `experiment` and the `run` pipeline."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from instructmining.rule.agreement import agreement_sentences, eval_agreement
from instructmining.rule.sources import (
    mixture_rows,
    source_shares,
    source_view,
    source_view_table,
)
from instructmining.rule.targets import set_losses
from instructmining.rule.transfer import transfer_matrix
from instructmining.storage import read_parquet
from instructmining.workspace import Workspace


def _block(title: str, frame: pd.DataFrame, index: bool = True) -> str:
    body = frame.to_string(index=index, float_format=lambda v: f"{v:.3f}", na_rep="-")
    return f"{title}\n{body}"


def agreement_text(
    agreement: list[dict[str, Any]], source_view: list[dict[str, Any]] | None = None
) -> str:
    """The pairwise agreement table and one sentence per pair."""
    if not agreement:
        return "evaluation sets: one set with runs, no agreement to measure"
    frame = pd.DataFrame(agreement)[["a", "b", "spearman", "ci_low", "ci_high", "n_subsets"]]
    lines = [
        _block(
            "Agreement between evaluation sets (Spearman of subset losses, 95% bootstrap CI "
            "over subsets)",
            frame,
            index=False,
        )
    ]
    lines += agreement_sentences(agreement, source_view)
    return "\n".join(lines)


def sets_text(info: dict[str, Any]) -> str:
    """Target, agreement, transfer, per-source view and picked mixtures from rule.json fields."""
    parts = [agreement_text(info.get("eval_agreement") or [], info.get("source_view"))]
    if len({r["evaluated_on"] for r in info.get("transfer") or []}) > 1:
        parts.append(
            _block(
                "Transfer: cross-validated Spearman of each target's rule (rows) against each "
                "set's measured loss (columns)",
                transfer_matrix(info["transfer"]),
            )
        )
    if info.get("source_view"):
        parts.append(
            _block(
                "Mean loss of subsets by dominant source (lower is better)",
                source_view_table(info["source_view"]),
                index=False,
            )
        )
    mixtures = info.get("rule_mixtures") or {}
    if mixtures.get("picked"):
        frame = mixture_rows(mixtures)
        parts.append(
            _block(
                f"Source mixture of each target rule's top {mixtures['n']} examples, and the "
                "best mixture the mixture rule (source shares alone) predicts for each target",
                frame,
            )
        )
    return "\n\n".join(parts)


def runs_agreement_text(runs: pd.DataFrame, pool: Any = None, subsets: Any = None) -> str:
    """Agreement of the sets recorded in a runs table (with source preferences when the pool
    and subsets tables are given), for the end of `experiment`."""
    losses = set_losses(runs)
    view = None
    if pool is not None and subsets is not None:
        view = source_view(losses, source_shares(subsets, pool))
    return agreement_text(eval_agreement(losses), view)


def runs_agreement(workspace: Workspace | Path, runs: pd.DataFrame) -> str:
    """How far the recorded evaluation sets agree, with the sources each prefers: the text
    printed after `experiment` and the pipeline's experiments stage. The source view needs the
    workspace's pool and subsets tables; without them the agreement is shown alone."""
    ws = Workspace.of(workspace)
    pool = read_parquet(ws.pool) if ws.pool.exists() else None
    subsets = read_parquet(ws.subsets) if ws.subsets.exists() else None
    return runs_agreement_text(runs, pool, subsets)
