"""What the rule is fitted to: the log loss on one evaluation set, or a weighted mean of several.

Reference-answer loss rewards the references' style, so two evaluation sets can rank the same
subsets in opposite order; the target names which behaviour "good data" means. Every recorded
set is a column of the runs table: `eval_loss` is the fit set (named `fit`), `test_loss__NAME`
the set NAME. A `mean` target standardises each set's log loss across subsets (so a set with a
larger spread does not dominate) and takes their weighted mean.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from instructmining.errors import UserError, param

FIT = "fit"
MEAN = "mean"
AUTO = "auto"
TEST_PREFIX = "test_loss__"
BASE_SUBSET = "__base__"
KINDS = ("fit", "set", "mean")


@dataclass(frozen=True)
class Target:
    """kind `fit` (the fit set), `set` (one named set) or `mean` (weighted mean of sets)."""

    kind: str
    sets: list[str]
    weights: dict[str, float] = field(default_factory=dict)
    reason: str | None = None  # why `auto` chose it, or which set a published rule means

    @property
    def symbol(self) -> str:
        """What a rule's formula predicts: `log L`, or `z` (the weighted mean of standardised
        log losses)."""
        return "z" if self.kind == MEAN else "log L"

    def describe(self) -> str:
        """e.g. `log loss on fit` or `mean of standardised log losses: fit 0.5, mt_bench 0.5`."""
        if self.kind != MEAN:
            return f"log loss on {self.sets[0]}"
        parts = ", ".join(f"{s} {self.weights[s]:.3g}" for s in self.sets)
        return f"mean of standardised log losses: {parts}"

    def explain(self) -> str:
        """`describe()` with the reason `auto` gave, for printing."""
        return self.describe() + (f" ({self.reason})" if self.reason else "")

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "sets": list(self.sets), "weights": self.weights}
        if self.reason:
            out["reason"] = self.reason
        return out

    @classmethod
    def from_dict(cls, data: Any) -> Target:
        """The target of a rule.json; older files (a bare column name) mean the fit set."""
        if not isinstance(data, dict):
            return FIT_TARGET
        kind = str(data.get("kind", FIT))
        if kind not in KINDS:
            raise ValueError(f"target kind {kind!r}")
        sets, weights = data.get("sets") or [FIT], data.get("weights") or {}
        if not isinstance(sets, list) or not isinstance(weights, dict):
            raise ValueError("target (sets must be a list, weights a mapping)")
        sets = [str(s) for s in sets]
        weights = {str(k): float(v) for k, v in weights.items()}
        return cls(kind, sets, weights or {s: 1.0 / len(sets) for s in sets}, data.get("reason"))


FIT_TARGET = Target(FIT, [FIT], {FIT: 1.0})


def _column(name: str) -> str:
    return "eval_loss" if name == FIT else f"{TEST_PREFIX}{name}"


def set_losses(runs: pd.DataFrame) -> pd.DataFrame:
    """Mean loss over seeds per subset (rows) and evaluation set (columns `fit`, then each
    recorded NAME); finished runs of trained subsets only, sets without any loss left out. The
    fit set's held-out items (`test_loss__holdout`) are no set of their own: never a target,
    they stay out of the fit and its agreement figures."""
    from instructmining.experiments.holdout import HOLDOUT

    ok = runs[runs["subset_id"] != BASE_SUBSET]
    if "status" in ok.columns:
        ok = ok[ok["status"].astype(str) == "ok"]
    held = f"{TEST_PREFIX}{HOLDOUT}"
    columns = ["eval_loss"] + sorted(
        c for c in ok.columns if c.startswith(TEST_PREFIX) and c != held
    )
    means = ok[columns].astype(float).groupby(ok["subset_id"].astype(str), sort=True).mean()
    means.columns = [FIT if c == "eval_loss" else c[len(TEST_PREFIX) :] for c in columns]
    return means.loc[:, means.notna().any()]


def parse_weights(text: str | None) -> dict[str, float]:
    """`NAME=W,NAME=W` as typed after --weights."""
    weights: dict[str, float] = {}
    for item in (text or "").split(","):
        if not item.strip():
            continue
        name, sep, value = item.partition("=")
        try:
            weights[name.strip()] = float(value)
        except ValueError:
            sep = ""
        if not sep or not name.strip():
            raise UserError(
                f"{param('weights')} must be NAME=W,... with W a number, not {item.strip()!r}"
            )
    return weights


def resolve_target(
    name: str,
    losses: pd.DataFrame,
    weights: dict[str, float] | None = None,
    agreement: list[dict[str, Any]] | None = None,
) -> Target:
    """The target named `fit`, a recorded set's NAME, `mean` (of `weights`' sets, or all), or
    `auto` (the mean of all sets where two of them disagree, else the fit set)."""
    recorded = list(losses.columns)
    shown = ", ".join(recorded) or "none"
    if name == AUTO:
        return _auto(losses, weights, agreement)
    if weights and name != MEAN:
        raise UserError(
            f"{param('weights')} needs {param('target')} mean, not {param('target')} {name}"
        )
    if name == FIT:
        return FIT_TARGET
    if name != MEAN:
        if name not in recorded:
            raise UserError(
                f"no recorded losses for evaluation set {name!r}; sets with losses: {shown}"
            )
        return Target("set", [name], {name: 1.0})
    weights = weights or {s: 1.0 for s in recorded}
    unknown = [s for s in weights if s not in recorded]
    if unknown:
        raise UserError(
            f"no recorded losses for evaluation set(s) {', '.join(unknown)}; sets with losses: "
            f"{shown}"
        )
    if any(w < 0 or not np.isfinite(w) for w in weights.values()) or sum(weights.values()) <= 0:
        raise UserError(f"{param('weights')} must be non-negative numbers with a positive sum")
    total = sum(weights.values())
    sets = [s for s in recorded if weights.get(s, 0) > 0]
    return Target(MEAN, sets, {s: weights[s] / total for s in sets})


def _auto(
    losses: pd.DataFrame, weights: dict[str, float] | None, agreement: list[dict] | None
) -> Target:
    opposed = [r for r in agreement or [] if _below_zero(r)]
    if len(losses.columns) < 2 or not opposed:
        why = "no two sets shown to disagree" if len(losses.columns) > 1 else "one set"
        return Target(FIT, [FIT], {FIT: 1.0}, f"auto: {why}, so the fit set")
    mean = resolve_target(MEAN, losses, weights)
    pairs = "; ".join(f"{r['a']} vs {r['b']} Spearman {r['spearman']:.2f}" for r in opposed)
    reason = f"auto: the sets disagree ({pairs}, interval below zero), so their mean"
    return Target(MEAN, mean.sets, mean.weights, reason)


def _below_zero(record: dict[str, Any]) -> bool:
    high = record.get("ci_high")
    return isinstance(high, int | float) and np.isfinite(high) and high < 0


def target_values(losses: pd.DataFrame, target: Target) -> pd.Series:
    """The value the rule is fitted to, per subset with a loss on every set of the target.

    `fit`/`set`: the log loss. `mean`: each set's log loss standardised across those subsets
    (mean 0, sd 1), then averaged with the target's weights."""
    missing = [s for s in target.sets if s not in losses.columns]
    if missing:
        shown = ", ".join(losses.columns) or "none"
        raise UserError(
            f"no recorded losses for evaluation set(s) {', '.join(missing)}; sets with losses: "
            f"{shown}"
        )
    logs = np.log(losses[target.sets].astype(float)).dropna()
    if target.kind != MEAN:
        return logs[target.sets[0]].rename("target")
    sd = logs.std(ddof=1)
    flat = [s for s in target.sets if not sd[s] > 0]
    if flat:
        raise UserError(f"log loss on {', '.join(flat)} does not vary between subsets")
    z = (logs - logs.mean()) / sd
    return sum(target.weights[s] * z[s] for s in target.sets).rename("target")
