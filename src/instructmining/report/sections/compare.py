"""Rule-selected examples against random and baseline selectors, with seeds and intervals."""

from __future__ import annotations

import pandas as pd

from instructmining.report.explain import explain
from instructmining.report.figures import color_for, data_uri, new_figure, style_axes
from instructmining.report.html import esc, fmt, image, note, table
from instructmining.report.stats import mean_ci
from instructmining.report.tables import ReportInputs
from instructmining.selection.selectors import RULE_TOP, RULE_TOP_MEANS

RANDOM = "random"
RULE_SELECTORS = ("instructmining", "rule", "selected")  # names the rule's own selector may have


def metrics(compare: pd.DataFrame) -> list[str]:
    """eval_loss, then every held-out test loss column that has values."""
    tests = [c for c in compare.columns if c.startswith("test_loss") and compare[c].notna().any()]
    return ["eval_loss", *tests]


def rule_selector(compare: pd.DataFrame) -> str | None:
    present = set(compare["selector"].astype(str))
    return next((s for s in RULE_SELECTORS if s in present), None)


def selector_order(compare: pd.DataFrame) -> list[str]:
    """The rule's selector first, then random, then the other baselines by name."""
    first = rule_selector(compare)
    return sorted(compare["selector"].unique(), key=lambda s: (s != first, s != RANDOM, s))


def differences(compare: pd.DataFrame, metric: str = "eval_loss") -> list[dict]:
    """Each selector against random at the same n: mean difference with a 95% CI, paired by
    seed where the seeds line up (the interval `instructmining compare` prints)."""
    from instructmining.selection import difference_interval  # loads models: only when needed

    compare = compare.dropna(subset=[metric, "n"])
    out = []
    for selector in selector_order(compare):
        for n, group in compare[compare["selector"] == selector].groupby("n", sort=True):
            random = compare[(compare["selector"] == RANDOM) & (compare["n"] == n)]
            if selector != RANDOM and len(random):
                interval = difference_interval(
                    group.set_index("seed")[metric], random.set_index("seed")[metric]
                )
                out.append({"selector": selector, "n": n, **interval})
    return out


def render_compare(inputs: ReportInputs) -> str:
    missing = inputs.missing("compare")
    if missing:
        return missing
    compare = inputs.tables["compare"].dropna(subset=["n"])
    text = (
        "<p>Each selector picks n examples; each point is one fine-tune (seed). Bars: mean with "
        "95% CI (Student t over seeds). <b>rule</b> is the rule's selection as <code>select "
        "--rule</code> makes it (inside the evidence).</p>"
    )
    if RULE_TOP in set(compare["selector"].astype(str)):
        text += f"<p><b>{RULE_TOP}</b>: {esc(RULE_TOP_MEANS)}.</p>"
    for metric in metrics(compare):
        rows = []
        done = compare.dropna(subset=[metric])
        for selector in selector_order(done):
            for n, group in done[done["selector"] == selector].groupby("n", sort=True):
                ci = mean_ci(group[metric])
                sd = group[metric].std(ddof=1) if len(group) > 1 else None
                rows.append([selector, n, len(group), ci.estimate, sd, ci.low, ci.high])
        text += f"<h3>{esc(metric)}</h3>" + table(
            rows, ["selector", "n", "runs", "mean", "sd", "95% CI low", "95% CI high"]
        )
        text += explain("Student t CI")
        diffs = differences(compare, metric)
        if diffs:
            columns = ["selector", "n", "diff", "diff_low", "diff_high", "p", "method"]
            text += "<p>Difference to random at the same n (negative is better):</p>" + table(
                [[d[c] for c in columns] for d in diffs],
                ["selector", "n", "mean − random", "95% CI low", "95% CI high", "p", "method"],
            )
            text += explain("paired t", "p of a difference")
    if RANDOM not in set(compare["selector"]):
        text += note("no random selector in compare.parquet: no difference to random")
    text += _lacking_runs(compare, inputs.tables.get("compare_runs"))
    return text + image(data_uri(_plot(compare)), "loss per selector with 95% CI")


def _lacking_runs(compare: pd.DataFrame, runs: pd.DataFrame | None) -> str:
    """A note when compare_runs.parquet lacks fine-tunes that compare.parquet counts: an older
    instructmining kept only the last seed's selections there, so the evidence on disk would
    not reproduce the intervals. A rerun of compare rebuilds it from the run records."""
    if runs is None or "subset_id" not in compare:
        return ""
    measured = compare.dropna(subset=metrics(compare), how="all")  # the fine-tunes it counts
    counted = set(zip(measured["subset_id"], measured["seed"].astype(int), strict=True))
    kept = set(zip(runs["subset_id"], runs["seed"].astype(int), strict=True))
    lacking = counted - kept
    if not lacking:
        return ""
    return note(
        f"compare_runs.parquet lacks {len(lacking)} of the {len(counted)} fine-tunes "
        "compare.parquet counts (written by an older instructmining, which kept only the last "
        "seed's selections): rerun <code>instructmining compare</code> with the same settings; "
        "it rebuilds the table from the run records without training again",
        True,
    )


def _plot(compare: pd.DataFrame):
    names = metrics(compare)
    sizes = sorted(compare["n"].unique())
    selectors = selector_order(compare)
    fig = new_figure(min(4.2 * len(names) + 1.8, 11), 3.8)
    axes = fig.subplots(1, len(names), squeeze=False).ravel()
    width = 0.8 / len(selectors)
    for ax, metric in zip(axes, names, strict=True):
        for k, selector in enumerate(selectors):
            label = selector
            for i, n in enumerate(sizes):
                values = compare[(compare["selector"] == selector) & (compare["n"] == n)][metric]
                values = values.dropna().astype(float)
                if values.empty:
                    continue
                x = i - 0.4 + width * (k + 0.5)
                ax.scatter([x] * len(values), values, s=9, color=color_for(k), alpha=0.45)
                ci = mean_ci(values)
                err = [[ci.estimate - ci.low], [ci.high - ci.estimate]] if len(values) > 1 else None
                ax.errorbar(
                    [x],
                    [ci.estimate],
                    yerr=err,
                    fmt="o",
                    color=color_for(k),
                    capsize=4,
                    label=label,
                )
                label = None
        ax.set_xticks(range(len(sizes)), [f"n = {fmt(n)}" for n in sizes])
        ax.set_title(metric, fontsize=10)
        style_axes(ax)
    axes[0].set_ylabel("loss")
    handles = {}
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            handles.setdefault(label, handle)
    fig.legend(handles.values(), handles.keys(), fontsize=8, loc="outside right upper")
    return fig
