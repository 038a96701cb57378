"""Which evaluation set defines "good data": the rule's target, the agreement between the sets,
how each target's rule transfers to the others, and which sources each set rewards."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from instructmining.report.explain import explain
from instructmining.report.figures import data_uri, new_figure
from instructmining.report.html import esc, fmt, image, note, table
from instructmining.report.stats import ok_runs
from instructmining.report.tables import ReportInputs
from instructmining.rule.agreement import agreement_matrix, agreement_sentences, eval_agreement
from instructmining.rule.sources import mixture_rows, source_view_table
from instructmining.rule.targets import Target, set_losses
from instructmining.rule.transfer import transfer_matrix


def render_eval_sets(inputs: ReportInputs) -> str:
    raw = inputs.rule.raw if inputs.rule is not None else {}
    agreement = raw.get("eval_agreement")
    if agreement is None and inputs.has("runs"):
        agreement = eval_agreement(set_losses(ok_runs(inputs.tables["runs"])))
    if agreement is None:
        return inputs.missing("runs")
    text = ""
    if inputs.rule is not None:
        text += (
            f"<p>The rule predicts the {esc(Target.from_dict(raw.get('target')).explain())}.</p>"
        )
    if not agreement:
        return text + note(
            "one evaluation set with runs: record a second with <code>instructmining experiment "
            "--test-eval NAME=FILE</code> to see whether the sets agree on which data is good"
        )
    text += _agreement(agreement, raw.get("source_view"))
    if raw.get("transfer"):
        matrix = transfer_matrix(raw["transfer"])
        text += (
            "<h3>Transfer</h3><p>Cross-validated Spearman between the predictions of a rule "
            "fitted on each target (rows) and each set's measured loss (columns): the diagonal "
            "is how well a rule predicts its own set, the rest how well it travels.</p>"
            + _matrix_table(matrix, "fitted on")
            + explain("CV Spearman")
            + image(data_uri(_heatmap(matrix, "measured on", "fitted on")), "transfer matrix")
        )
    return text + _sources(raw.get("source_view"), raw.get("rule_mixtures"))


def _agreement(agreement: list[dict[str, Any]], view: list[dict] | None) -> str:
    rows = [
        [r["a"], r["b"], r["spearman"], r["ci_low"], r["ci_high"], r["n_subsets"]]
        for r in agreement
    ]
    matrix = agreement_matrix(agreement)
    sentences = "".join(f"<p>{esc(s)}</p>" for s in agreement_sentences(agreement, view))
    return (
        "<h3>Agreement between evaluation sets</h3><p>Spearman correlation of the subsets' "
        "losses on two sets, with a 95% bootstrap interval over subsets. Below zero, the sets "
        "disagree about which data is good.</p>"
        + table(rows, ["set", "set", "Spearman", "95% CI low", "95% CI high", "subsets"])
        + explain("Spearman", "bootstrap over subsets")
        + sentences
        + image(data_uri(_heatmap(matrix, "", "")), "agreement matrix")
    )


def _sources(view: list[dict] | None, mixtures: dict | None) -> str:
    if not view:
        return ""
    frame = source_view_table(view)
    text = "<h3>Per source</h3><p>Mean loss of the subsets dominated by each source.</p>" + table(
        frame.itertuples(index=False), list(frame.columns)
    )
    if mixtures and mixtures.get("picked"):
        text += (
            f"<p>Source shares of the {fmt(mixtures['n'])} pool examples each target's rule "
            "ranks best (first row: the pool), and of the best mixture the mixture rule (source "
            "shares alone) predicts for each target.</p>"
            + _matrix_table(mixture_rows(mixtures), "rule of")
        )
    return text


def _matrix_table(matrix: pd.DataFrame, corner: str) -> str:
    rows = [
        [name, *row] for name, row in zip(matrix.index, matrix.to_numpy().tolist(), strict=True)
    ]
    return table(rows, [corner, *map(str, matrix.columns)])


def _heatmap(matrix: pd.DataFrame, xlabel: str, ylabel: str):
    size = 1.0 + 0.8 * max(matrix.shape)
    fig = new_figure(size + 1.2, size)
    ax = fig.add_subplot()
    values = matrix.to_numpy(dtype=float)
    shown = ax.imshow(values, cmap="RdBu", vmin=-1, vmax=1)
    for (i, j), value in np.ndenumerate(values):
        ax.text(j, i, fmt(value, 2), ha="center", va="center", fontsize=9)
    ax.set_xticks(range(values.shape[1]), matrix.columns, rotation=30, ha="right")
    ax.set_yticks(range(values.shape[0]), matrix.index)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    fig.colorbar(shown, ax=ax, label="Spearman")
    return fig
