"""Indicator distributions per source and their rank correlations."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from instructmining.report.explain import explain
from instructmining.report.figures import color_for, data_uri, new_figure, style_axes
from instructmining.report.html import image, note, table
from instructmining.report.tables import ReportInputs
from instructmining.workspace import FILES

HIGH_CORRELATION = 0.8


def indicator_columns(indicators: pd.DataFrame) -> list[str]:
    """Numeric columns other than the id, in table order."""
    return [
        c for c in indicators.columns if c != "id" and pd.api.types.is_numeric_dtype(indicators[c])
    ]


def render_distributions(inputs: ReportInputs) -> str:
    missing = inputs.missing("pool", "indicators")
    if missing:
        return missing
    indicators = inputs.tables["indicators"]
    columns = indicator_columns(indicators)
    if not columns:
        return note(f"{FILES['indicators'].name} has no numeric indicator columns")
    data = inputs.tables["pool"][["id", "source"]].merge(indicators, on="id", how="inner")
    if data.empty:
        names = FILES["indicators"].name, FILES["pool"].name
        return note("no id of {} is in {}".format(*names), problem=True)
    sources = sorted(data["source"].astype(str).unique())
    data["source"] = data["source"].astype(str)
    medians = data.groupby("source")[columns].median()
    rows = [[c, *[medians.loc[s, c] for s in sources]] for c in columns]
    return (
        f"<p>{len(data)} examples with indicators, by source. Heavy-tailed indicators are "
        "shown on a log10 scale; the bar in each violin marks the median.</p>"
        + image(data_uri(_violins(data, columns, sources)), "indicator distributions by source")
        + "<h3>Median per source</h3>"
        + table(rows, ["indicator", *sources])
    )


def _violins(data: pd.DataFrame, columns: list[str], sources: list[str]):
    ncols = min(3, len(columns))
    nrows = math.ceil(len(columns) / ncols)
    fig = new_figure(3.7 * ncols, 2.7 * nrows)
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax, column in zip(axes, columns, strict=False):
        values = data[column].astype(float)
        finite = values[np.isfinite(values)]
        log = (
            len(finite) > 0
            and finite.min() > 0
            and finite.quantile(0.99) > 100 * finite.quantile(0.01)
        )
        if log:
            values = np.log10(values.where(values > 0))
        groups = [values[data["source"] == s].dropna().to_numpy() for s in sources]
        for i, group in enumerate(groups):
            if len(np.unique(group)) >= 2:
                parts = ax.violinplot([group], positions=[i], widths=0.8, showmedians=True)
                for body in parts["bodies"]:
                    body.set_facecolor(color_for(i))
                    body.set_alpha(0.55)
                for key in ("cmedians", "cmins", "cmaxes", "cbars"):
                    parts[key].set_color(color_for(i))
            elif len(group):
                ax.scatter([i] * len(group), group, color=color_for(i), s=12)
        ax.set_xticks(
            range(len(sources)),
            sources,
            rotation=25 if len(sources) > 3 else 0,
            ha="right" if len(sources) > 3 else "center",
            fontsize=8,
        )
        ax.set_title(f"log10 {column}" if log else column, fontsize=10)
        ax.tick_params(axis="y", labelsize=8)
        style_axes(ax)
    for ax in axes[len(columns) :]:
        ax.set_visible(False)
    return fig


def render_correlations(inputs: ReportInputs) -> str:
    missing = inputs.missing("indicators")
    if missing:
        return missing
    indicators = inputs.tables["indicators"]
    columns = [c for c in indicator_columns(indicators) if indicators[c].nunique() > 1]
    if len(columns) < 2:
        return note("fewer than two non-constant indicator columns: nothing to correlate")
    corr = indicators[columns].corr(method="spearman")
    pairs = [
        (a, b, corr.loc[a, b])
        for i, a in enumerate(columns)
        for b in columns[i + 1 :]
        if abs(corr.loc[a, b]) >= HIGH_CORRELATION
    ]
    text = (
        f"<p>Spearman rank correlation over {len(indicators)} examples. Pairs with "
        f"|ρ| ≥ {HIGH_CORRELATION} carry nearly the same information; a rule using both has "
        "unstable coefficients (see the VIF column below).</p>"
    ) + explain("Spearman")
    if pairs:
        text += table([[a, b, r] for a, b, r in pairs], ["indicator", "indicator", "ρ"])
    return text + image(data_uri(_heatmap(corr)), "Spearman correlation heatmap of indicators")


def _heatmap(corr: pd.DataFrame):
    k = len(corr)
    size = max(4.5, 0.55 * k + 2.2)
    fig = new_figure(size + 1.0, size)
    ax = fig.add_subplot()
    shown = ax.imshow(corr.to_numpy(), cmap="RdBu_r", vmin=-1, vmax=1)
    ax.set_xticks(range(k), corr.columns, rotation=40, ha="right", fontsize=9)
    ax.set_yticks(range(k), corr.index, fontsize=9)
    fontsize = 9 if k <= 10 else 7
    for i in range(k):
        for j in range(k):
            value = corr.iat[i, j]
            color = "white" if abs(value) > 0.6 else "#1d2125"
            ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=fontsize, color=color)
    fig.colorbar(shown, ax=ax, shrink=0.8, label="Spearman ρ")
    return fig
