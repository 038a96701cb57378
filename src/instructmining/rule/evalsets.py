"""Everything `fit` reports about the evaluation sets beside the rule itself: their agreement,
how the rule of each target transfers to the others, and which sources each set rewards.

Stored in rule.json under `eval_agreement`, `transfer`, `source_view` and `rule_mixtures`
(with `mixture_rule`: the mixture rule fitted on each set, its predicted best mixture and CV R²).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from instructmining.rule.mixture import fit_mixture
from instructmining.rule.regression import cv_splits
from instructmining.rule.sources import picked_mixture, source_view
from instructmining.rule.table import TARGET, FitTable
from instructmining.rule.targets import MEAN, Target
from instructmining.rule.transfer import TargetRule, fit_target_rule, transfer_records


@dataclass
class SetAnalysis:
    agreement: list[dict[str, Any]] = field(default_factory=list)
    transfer: list[dict[str, Any]] = field(default_factory=list)
    source_view: list[dict[str, Any]] = field(default_factory=list)
    mixtures: dict[str, Any] = field(default_factory=dict)

    def info(self) -> dict[str, Any]:
        out: dict[str, Any] = {"eval_agreement": self.agreement, "transfer": self.transfer}
        if self.source_view:
            out["source_view"] = self.source_view
        if self.mixtures:
            out["rule_mixtures"] = self.mixtures
        return out


def analyse_sets(
    data: FitTable,
    target: Target,
    chosen: list[str],
    candidates: list[str],
    max_size: int,
    folds: int,
    criterion: str,
    exact: bool = False,
    max_combinations: int = 20000,
) -> SetAnalysis:
    """Agreement, transfer and per-source view of the sets recorded in `data.losses`; every
    target's rule searches its own indicators among `candidates`, except the rule's own target
    (and all of them with `exact`), which use `chosen`."""
    losses = data.losses
    if losses.empty:
        return SetAnalysis()
    logs = np.log(losses.astype(float))
    own = MEAN if target.kind == MEAN else target.sets[0]
    goals = {name: logs[name] for name in logs.columns}
    if target.kind == MEAN:
        goals[MEAN] = data.table.set_index("subset_id")[TARGET]
    rules = {
        name: fit_target_rule(
            data.table,
            y,
            candidates,
            max_size,
            folds,
            criterion,
            chosen=chosen if name == own or exact else None,
            max_combinations=max_combinations,
        )
        for name, y in goals.items()
    }
    analysis = SetAnalysis(agreement=data.agreement, transfer=transfer_records(rules, logs))
    if data.shares is not None:
        analysis.source_view = source_view(losses, data.shares)
    if data.examples is not None and data.subset_size:
        analysis.mixtures = _mixtures(rules, data.examples, data.subset_size)
    if data.proportions is not None and analysis.mixtures:
        analysis.mixtures["mixture_rule"] = _mixture_rules(goals, data.proportions, folds)
    return analysis


def _mixture_rules(
    goals: dict[str, pd.Series], proportions: pd.DataFrame, folds: int
) -> dict[str, dict[str, Any]]:
    """The mixture rule fitted on each target: its predicted best mixture and CV R², so each
    set's indicator-rule pick can be read beside what the source shares alone predict."""
    out = {}
    for name, y in goals.items():
        table = pd.DataFrame({"subset_id": y.index.astype(str), "y": y.to_numpy(dtype=float)})
        splits, _ = cv_splits(len(table), folds)
        fitted = fit_mixture(table, proportions, "y", splits)
        out[name] = {"best_mixture": fitted["best_mixture"], "cv_r2": fitted["cv_r2"]}
    return out


def _mixtures(
    rules: dict[str, TargetRule | None], examples: pd.DataFrame, n: int
) -> dict[str, Any]:
    """The source make-up of each target rule's top n pool examples, n the mean subset size."""
    usable = {k: r for k, r in rules.items() if r is not None}
    needed = sorted({c for r in usable.values() for c in r.indicators})
    if not usable or any(c not in examples.columns for c in needed):
        return {}
    scored = examples.dropna(subset=needed)
    pool = examples[["id", "source"]]
    picked = {
        name: picked_mixture(pd.Series(rule.predict(scored), index=scored["id"]), pool, n)
        for name, rule in usable.items()
    }
    overall = examples["source"].astype(str).value_counts(normalize=True).sort_index()
    return {
        "n": n,
        "pool": {str(k): float(v) for k, v in overall.items()},
        "picked": picked,
        "indicators": {name: rule.indicators for name, rule in usable.items()},
    }
