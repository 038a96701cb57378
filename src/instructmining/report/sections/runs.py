"""Eval loss per subset against the base model, and training-seed noise against subset spread."""

from __future__ import annotations

import numpy as np
import pandas as pd

from instructmining.outcomes import BASELINE, seed_noise
from instructmining.report.explain import explain
from instructmining.report.figures import data_uri, new_figure, style_axes
from instructmining.report.html import esc, facts, fmt, image, note
from instructmining.report.stats import ok_runs
from instructmining.report.tables import ReportInputs

LABELLED_SUBSETS = 30


def base_loss(runs: pd.DataFrame) -> float:
    """Eval loss of the base model without fine-tuning (the "__base__" rows), NaN if absent."""
    ok = ok_runs(runs)
    base = ok.loc[ok["subset_id"] == BASELINE, "eval_loss"]
    return float(base.mean()) if len(base) else float("nan")


def render_runs(inputs: ReportInputs) -> str:
    missing = inputs.missing("runs")
    if missing:
        return missing
    runs = inputs.tables["runs"]
    ok = ok_runs(runs)
    fine_tuned = ok[ok["subset_id"] != BASELINE]
    if fine_tuned.empty:
        return note(f"runs.parquet has no finished fine-tuning run ({len(runs)} rows)")
    per_subset = fine_tuned.groupby("subset_id")["eval_loss"].agg(["mean", "count"])
    per_subset = per_subset.sort_values("mean")
    base = base_loss(runs)
    spread = float(per_subset["mean"].std(ddof=1)) if len(per_subset) > 1 else float("nan")
    noise = seed_noise(fine_tuned)
    items = [
        ("runs", f"{len(fine_tuned)} finished, {len(runs) - len(ok)} failed or unfinished"),
        (
            "subsets",
            f"{len(per_subset)} (seeds per subset: "
            f"{per_subset['count'].min()}–{per_subset['count'].max()})",
        ),
        ("base model eval loss", fmt(base)),
        (
            "subset eval loss",
            f"{fmt(per_subset['mean'].iloc[0])} (best, "
            f"<code>{esc(per_subset.index[0])}</code>) to {fmt(per_subset['mean'].iloc[-1])}",
        ),
        ("subset spread (sd of subset means)", fmt(spread)),
        (
            "seed noise (pooled sd within a subset)",
            fmt(noise) if np.isfinite(noise) else "not measured: run a subset with several seeds",
        ),
    ]
    for name, column in (("configurations", "config_hash"), ("evaluation sets", "eval_hash")):
        if column in ok and ok[column].nunique() > 1:
            items.append((name, f"{ok[column].nunique()} different ({esc(column)}): pooled here"))
    text = facts(items) + explain("subset spread", "seed noise")
    if np.isfinite(noise) and np.isfinite(spread):
        ratio = spread / noise if noise > 0 else float("inf")
        verdict = (
            f"The spread between subsets is {fmt(ratio, 3)}× the seed noise."
            if ratio >= 2
            else f"The spread between subsets is only {fmt(ratio, 3)}× the seed noise: a rule "
            "fitted to these runs mostly fits noise. Train longer or with a higher learning rate."
        )
        text += note(esc(verdict)) if ratio < 2 else f"<p>{esc(verdict)}</p>"
    return text + image(data_uri(_plot(fine_tuned, per_subset, base)), "eval loss per subset")


def _plot(runs: pd.DataFrame, per_subset: pd.DataFrame, base: float):
    fig = new_figure(10, 3.6)
    ax = fig.add_subplot()
    position = {s: i for i, s in enumerate(per_subset.index)}
    x = runs["subset_id"].map(position)
    ax.scatter(x, runs["eval_loss"], s=10, color="#9aa3ad", label="one run (seed)", zorder=2)
    ax.scatter(
        range(len(per_subset)),
        per_subset["mean"],
        s=22,
        color="#1f77b4",
        label="subset mean",
        zorder=3,
    )
    if np.isfinite(base):
        ax.axhline(base, color="#d62728", linestyle="--", label=f"base model {fmt(base)}")
    if len(per_subset) <= LABELLED_SUBSETS:
        ax.set_xticks(
            range(len(per_subset)),
            [str(s) for s in per_subset.index],
            rotation=60,
            ha="right",
            fontsize=7,
        )
    else:
        ax.set_xticks([])
    ax.set_xlabel("subsets, sorted by mean eval loss")
    ax.set_ylabel("eval loss")
    ax.legend(fontsize=8, loc="best")
    style_axes(ax)
    return fig
