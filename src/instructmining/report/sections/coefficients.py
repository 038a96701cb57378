"""The rule's coefficients with intervals and VIF, the indicator-set ablation, model comparison."""

from __future__ import annotations

import numpy as np

from instructmining.report.explain import explain
from instructmining.report.figures import color_for, data_uri, new_figure, style_axes
from instructmining.report.html import esc, fmt, image, note, table
from instructmining.report.tables import ReportInputs

HIGH_VIF = 5.0


def render_coefficients(inputs: ReportInputs) -> str:
    missing = inputs.missing("rule")
    if missing:
        return missing
    rule = inputs.rule
    if not rule.coefficients and not rule.ols_coefficients:
        return note("rule.json has no coefficients")
    text = (
        f"<p>Model {esc(rule.model or 'unnamed')}, intercept {fmt(rule.intercept)}. The target is "
        "log eval loss, so a negative coefficient means examples with more of that indicator "
        "lower the loss.</p>"
    )
    if rule.coefficients:
        text += _table(rule.indicators, rule.coefficients)
    if rule.coefficients or rule.ols_coefficients:
        text += explain("SE", "p", "VIF", "standardised")
    if rule.ols_coefficients:
        text += "<h3>Least-squares fit on the same indicators</h3>" + _table(
            rule.indicators, rule.ols_coefficients
        )
    details = {**rule.ols_coefficients, **rule.coefficients}
    collinear = [n for n in rule.indicators if details.get(n, {}).get("vif", 0) > HIGH_VIF]
    if collinear:
        text += note(
            f"VIF above {HIGH_VIF:g} (collinear, coefficients unstable): "
            f"{esc(', '.join(collinear))}"
        )
    forest = _forest(rule.indicators, rule.ols_coefficients or rule.coefficients)
    if forest is not None:
        text += image(data_uri(forest), "standardised coefficients with 95% CI")
    if rule.definitions:
        rows = [
            [name, "; ".join(f"{k}: {v}" for k, v in rule.definitions[name].items())]
            for name in rule.indicators
            if name in rule.definitions
        ]
        text += "<h3>Indicator definitions</h3>" + table(rows, ["indicator", "definition"])
    return text


def _table(names: list[str], coefficients: dict[str, dict[str, float]]) -> str:
    rows = []
    for name in names:
        c = coefficients.get(name, {})
        ci = (
            f"[{fmt(c['ci_low'])}, {fmt(c['ci_high'])}]" if {"ci_low", "ci_high"} <= set(c) else "–"
        )
        rows.append(
            [name, c.get("estimate"), c.get("se"), ci, *map(c.get, ("p", "vif", "standardised"))]
        )
    return table(rows, ["indicator", "estimate", "SE", "95% CI", "p", "VIF", "standardised"])


def _forest(names: list[str], coefficients: dict[str, dict[str, float]]):
    """Standardised coefficients with their CIs scaled the same way (comparable across units)."""
    rows = []
    for name in names:
        c = coefficients.get(name, {})
        if "standardised" not in c:
            continue
        low = high = float("nan")
        if c.get("estimate") and "ci_low" in c and "ci_high" in c:
            scale = c["standardised"] / c["estimate"]
            low, high = sorted((c["ci_low"] * scale, c["ci_high"] * scale))
        rows.append((name, c["standardised"], low, high))
    if not rows:
        return None
    fig = new_figure(6.4, 0.45 * len(rows) + 1.2)
    ax = fig.add_subplot()
    for i, (_, value, low, high) in enumerate(rows):
        color = color_for(3) if value > 0 else color_for(0)
        if np.isfinite(low):
            ax.plot([low, high], [i, i], color=color, linewidth=2)
        ax.scatter([value], [i], color=color, s=30, zorder=3)
    ax.axvline(0, color="#7f7f7f", linewidth=1)
    ax.set_yticks(range(len(rows)), [r[0] for r in rows])
    ax.invert_yaxis()
    ax.set_xlabel("standardised coefficient (effect of +1 sd on log loss, 95% CI)")
    style_axes(ax)
    return fig


def render_ablation(inputs: ReportInputs) -> str:
    missing = inputs.missing("rule")
    if missing:
        return missing
    rule = inputs.rule
    text = ""
    if rule.ablation:
        text += "<h3>Indicator sets</h3>" + _records_table(
            rule.ablation, ["set", "indicators", "r2", "adj_r2", "cv_r2"]
        )
        text += explain("R²", "adjusted R²", "CV R²")
    else:
        text += note("rule.json has no ablation table: refit with <code>instructmining fit</code>")
    if rule.combinations:
        text += (
            f"<details><summary>Best {len(rule.combinations)} indicator combinations "
            "of the search</summary>"
            + _records_table(rule.combinations, ["rank", "indicators", "r2", "adj_r2", "cv_r2"])
            + "</details>"
        )
    if rule.model_comparison:
        text += "<h3>Model comparison</h3>" + _records_table(
            rule.model_comparison, ["model", "cv_r2"]
        )
        scored = [r for r in rule.model_comparison if isinstance(r.get("cv_r2"), (int, float))]
        if scored:
            text += image(data_uri(_bars(scored)), "cross-validated R² per model")
    return text


def _records_table(records: list[dict], first: list[str]) -> str:
    keys = first + [k for r in records for k in r if k not in first]
    keys = [k for k in dict.fromkeys(keys) if any(k in r for r in records)]
    rows = [
        [r.get(k) if not isinstance(r.get(k), (dict, list)) else str(r[k]) for k in keys]
        for r in records
    ]
    return table(rows, keys)


def _bars(records: list[dict]):
    fig = new_figure(5.2, 0.3 * len(records) + 1.0)
    ax = fig.add_subplot()
    names = [str(r.get("model")) for r in records]
    values = [float(r["cv_r2"]) for r in records]
    ax.barh(range(len(records)), values, height=0.6, color=color_for(0))
    ax.set_yticks(range(len(records)), names)
    ax.invert_yaxis()
    ax.axvline(0, color="#7f7f7f", linewidth=1)
    ax.set_xlabel("cross-validated R²")
    style_axes(ax)
    return fig
