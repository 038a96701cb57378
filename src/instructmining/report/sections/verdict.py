"""The report opens with the verdict and the figures it follows from.

Permutation p, CV R² and CV Spearman of the rule, the mixture baseline, the held-out split, the
contamination check and, per evaluation set, the rule's difference to each selector with both
intervals (paired t over seeds; paired bootstrap over items and seeds), each statistic with a
sentence on what it means and a sentence on which interval decides.
"""

from __future__ import annotations

import json

import pandas as pd

from instructmining.report.explain import explain
from instructmining.report.html import esc, facts, fmt, table
from instructmining.report.tables import ReportInputs
from instructmining.storage import read_parquet
from instructmining.workspace import Workspace

_KEYS = {"permutation p": "permutation_p", "CV R²": "cv_r2", "CV Spearman": "cv_spearman"}


def _json(path) -> dict:  # noqa: ANN001 - a Path
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def compare_summary(inputs: ReportInputs) -> pd.DataFrame | None:
    """compare_summary.parquet: the rule against each selector with both intervals."""
    path = Workspace.of(inputs.root).compare_summary
    return read_parquet(path) if path.exists() else None


def render_verdict(inputs: ReportInputs) -> str:
    from instructmining.rule.verdict import DECIDING_INTERVAL, rule_verdict  # loads statsmodels

    if inputs.rule is None:
        return "<p>No rule fitted yet (<code>instructmining fit</code>): no verdict.</p>"
    summary = compare_summary(inputs)
    intervals = summary.to_dict("records") if summary is not None else None
    text = f"<p><strong>{esc(rule_verdict(inputs.rule.raw, intervals))}</strong></p>"
    fit = inputs.rule.stats
    items = [
        (label, fmt(fit[key], 3))
        for key, label in (
            ("permutation_p", "permutation p (whole search rerun on shuffled losses)"),
            ("cv_r2", "CV R² of the rule"),
            ("cv_spearman", "CV Spearman, predicted vs measured loss"),
        )
        if fit.get(key) is not None
    ]
    if fit.get("permutations"):
        items.append(("permutations", str(fit["permutations"])))
    mixture = inputs.rule.raw.get("mixture")
    if mixture:
        best = ", ".join(f"{esc(k)} {v:.0%}" for k, v in mixture["best_mixture"].items())
        items.append(("CV R² of the mixture rule (sources only)", fmt(mixture.get("cv_r2"), 3)))
        items.append(("predicted best mixture", best))
    holdout = _json(Workspace.of(inputs.root).holdout)
    if holdout:
        held, fitted = len(holdout["holdout_ids"]), len(holdout["fit_ids"])
        text_held = f"{held} of {held + fitted} (seed {holdout['seed']}), never fitted on"
        items.append(("held-out items", text_held))
    overlap = _json(Workspace.of(inputs.root).overlap)
    if overlap:
        action = "dropped" if overlap.get("dropped") else "kept"
        items.append(
            (
                "pool examples repeating evaluation items",
                f"{overlap['contaminated']} ({overlap['exact']} exact, {overlap['near']} near; "
                f"{action})",
            )
        )
    text += facts(items)
    text += explain(
        *(t for t in ("permutation p", "CV R²", "CV Spearman") if fit.get(_KEYS[t]) is not None)
    )
    if summary is not None and "diff" in summary:
        rows = summary.dropna(subset=["diff"])
        columns = ["eval_set", "selector", "diff", "diff_low", "diff_high"]
        columns += [c for c in ("boot_low", "boot_high") if c in rows]
        text += "<p>Rule − selector in eval loss (negative favours the rule), 95% CIs:</p>"
        text += table(
            rows[columns].values.tolist(),
            ["eval set", "selector", "rule − selector", "t low (seeds)", "t high (seeds)"]
            + ["bootstrap low (items + seeds)", "bootstrap high (items + seeds)"][
                : len(columns) - 5
            ],
        )
        text += explain("paired t", "paired bootstrap")
    return text + f"<p>{esc(DECIDING_INTERVAL)}</p>"
