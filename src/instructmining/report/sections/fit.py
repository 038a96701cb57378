"""How well the fitted rule predicts the measured log eval loss of each subset."""

from __future__ import annotations

import numpy as np
import pandas as pd

from instructmining.report.explain import explain
from instructmining.report.figures import color_for, data_uri, new_figure, style_axes
from instructmining.report.html import esc, facts, fmt, image, note
from instructmining.report.rule_view import RuleView
from instructmining.report.stats import measured_log_loss, ok_runs, predict, r_squared, subset_means
from instructmining.report.tables import ReportInputs
from instructmining.rule.targets import Target, set_losses, target_values


def formula(rule: RuleView) -> str:
    """The rule as text, e.g. "log L = 1.07 − 0.15·reward + 8.3e-05·output_len"."""
    symbol = Target.from_dict(rule.raw.get("target")).symbol
    if rule.is_ensemble:
        return f"{symbol} = gradient-boosted trees({', '.join(rule.indicators)})"
    terms = [fmt(rule.intercept)] if rule.intercept is not None else []
    for name in rule.indicators:
        estimate = rule.coefficients.get(name, {}).get("estimate")
        if estimate is not None:
            sign = "−" if estimate < 0 else "+"
            terms.append(f"{sign} {fmt(abs(estimate))}·{name}")
    return f"{symbol} = " + " ".join(terms)


def render_fit(inputs: ReportInputs) -> str:
    missing = inputs.missing("rule", "runs")
    if not inputs.has("subset_indicators"):
        missing += inputs.missing("indicators", "subsets")
    if missing:
        return missing
    rule = inputs.rule
    if not rule.can_predict:
        return note("rule.json lacks an intercept or coefficient estimates: nothing to predict")
    if inputs.has("subset_indicators"):
        means = inputs.tables["subset_indicators"].set_index("subset_id")
    else:
        means = subset_means(inputs.tables["indicators"], inputs.tables["subsets"])
    absent = [n for n in rule.indicators if n not in means.columns]
    if absent:
        return note(f"the rule uses indicator(s) not computed here: {esc(', '.join(absent))}", True)
    target = Target.from_dict(rule.raw.get("target"))
    runs = _runs_fitted(rule, ok_runs(inputs.tables["runs"]))
    if target.kind == "fit":
        measured = measured_log_loss(runs)
    elif not set(target.sets) <= set(losses := set_losses(runs)):
        return note(f"runs.parquet lacks losses on the rule's target sets ({esc(target.sets)})")
    else:
        measured = target_values(losses, target)
    common = measured.index.intersection(means.index)
    if common.empty:
        return note("no subset of runs.parquet has indicator means", problem=True)
    measured = measured.loc[common]
    predicted = predict(rule, means.loc[common])
    r2 = r_squared(measured, predicted)
    stats = [(k, fmt(v)) for k, v in rule.stats.items() if not isinstance(v, (dict, list))]
    return (
        f"<p><code>{esc(formula(rule))}</code></p>"
        f"<p>Each point is one subset: the rule's prediction from its mean indicators against "
        f"its measured {esc(target.describe())}, from the mean loss over its seeds "
        f"({len(common)} subsets). "
        f"R² of these points: {fmt(r2, 3)}.</p>"
        + (facts(stats, grid=True) if stats else "")
        + explain("R²", "adjusted R²", "CV R²")
        + image(data_uri(_scatter(predicted, measured, r2, target.symbol)), "predicted vs measured")
    )


def _runs_fitted(rule: RuleView, runs: pd.DataFrame) -> pd.DataFrame:
    """The runs of the training config and evaluation set the rule names, if it names them."""
    for key in ("config_hash", "eval_hash"):
        if key in rule.eval and key in runs:
            runs = runs[runs[key].astype(str) == str(rule.eval[key])]
    return runs


def _scatter(predicted: pd.Series, measured: pd.Series, r2: float, symbol: str):
    fig = new_figure(5.6, 4.6)
    ax = fig.add_subplot()
    ax.scatter(predicted, measured, s=18, color=color_for(0), alpha=0.8, label="subset")
    low = float(min(predicted.min(), measured.min()))
    high = float(max(predicted.max(), measured.max()))
    ax.plot([low, high], [low, high], color="#7f7f7f", linestyle="--", label="y = x")
    if predicted.nunique() > 1:
        slope, intercept = np.polyfit(predicted, measured, 1)
        ax.plot(
            [low, high],
            [intercept + slope * low, intercept + slope * high],
            color=color_for(3),
            label=f"least squares (slope {fmt(slope, 3)})",
        )
    ax.set_xlabel(f"predicted {symbol}")
    ax.set_ylabel(f"measured {symbol}")
    ax.set_title(f"R² = {fmt(r2, 3)}", fontsize=10)
    ax.legend(fontsize=8)
    style_axes(ax)
    return fig
