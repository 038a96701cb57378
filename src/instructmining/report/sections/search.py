"""Loss against selection size n over the BlendSearch trials."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from instructmining.report.figures import data_uri, new_figure, style_axes
from instructmining.report.html import fmt, image, note, table
from instructmining.report.tables import ReportInputs


def finished_trials(search: pd.DataFrame) -> pd.DataFrame:
    """Trials with a finite eval loss, in trial order."""
    done = search[np.isfinite(search["eval_loss"].astype(float))]
    return done.sort_values("trial")


def best_trial(search: pd.DataFrame) -> pd.Series | None:
    done = finished_trials(search)
    return None if done.empty else done.loc[done["eval_loss"].astype(float).idxmin()]


def render_search(inputs: ReportInputs) -> str:
    missing = inputs.missing("search")
    if missing:
        return missing
    trials = finished_trials(inputs.tables["search"])
    if trials.empty:
        return note("search.parquet has no finished trial")
    best = best_trial(trials)
    has_test = "test_loss" in trials and trials["test_loss"].notna().any()
    has_holdout = "holdout_loss" in trials and trials["holdout_loss"].notna().any()
    text = (
        f"<p>{len(trials)} trials. Best: n = {fmt(best['n'])} with eval loss "
        f"{fmt(best['eval_loss'])} (trial {fmt(best['trial'])})"
        + (f", loss on the held-out items {fmt(best['holdout_loss'])}" if has_holdout else "")
        + (f", held-out test loss {fmt(best['test_loss'])}" if has_test else "")
        + ".</p>"
    )
    if not has_test:
        text += note(
            "No held-out test loss: the best n is chosen on the same eval loss it reports, "
            "so its loss is optimistic."
        )
    columns = ["trial", "n", "eval_loss"] + (["holdout_loss"] if has_holdout else [])
    columns += ["test_loss"] if has_test else []
    rows = trials[columns].to_numpy().tolist()
    return (
        text
        + image(data_uri(_plot(trials, has_test)), "eval loss against n over the search trials")
        + f"<details><summary>All {len(trials)} trials</summary>"
        + table(rows, columns)
        + "</details>"
    )


def _plot(trials: pd.DataFrame, has_test: bool):
    fig = new_figure(8.5, 4.2)
    ax = fig.add_subplot()
    n = trials["n"].astype(float)
    loss = trials["eval_loss"].astype(float)
    shown = ax.scatter(
        n, loss, c=trials["trial"].astype(float), cmap="viridis", s=34, zorder=3, label="eval loss"
    )
    for x, y, t in zip(n, loss, trials["trial"], strict=True):
        ax.annotate(fmt(t), (x, y), xytext=(4, 4), textcoords="offset points", fontsize=7)
    if has_test:
        ax.scatter(
            n,
            trials["test_loss"].astype(float),
            marker="s",
            facecolors="none",
            edgecolors="#d62728",
            s=28,
            label="held-out test loss",
            zorder=2,
        )
    best = trials.loc[loss.idxmin()]
    ax.scatter(
        [best["n"]],
        [best["eval_loss"]],
        marker="*",
        s=260,
        facecolors="none",
        edgecolors="black",
        linewidths=1.2,
        label=f"best n = {fmt(best['n'])}",
        zorder=4,
    )
    if n.min() > 0:
        ax.set_xscale("log")
        ax.xaxis.set_major_locator(LogLocator(subs=(1, 2, 3, 5)))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
        ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("n (top-ranked examples fine-tuned on)")
    ax.set_ylabel("loss")
    ax.legend(fontsize=8)
    fig.colorbar(shown, ax=ax, label="trial (order)")
    style_axes(ax)
    return fig
