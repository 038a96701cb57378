"""The report ends with what to do next, chosen from its figures: run more subsets while the rule
is not better than chance, refine it while its selection is not shown to beat random, and use
the selection once it is."""

from __future__ import annotations

from instructmining.outcomes import BASELINE
from instructmining.report.html import esc
from instructmining.report.sections.compare import differences, rule_selector
from instructmining.report.sections.verdict import compare_summary
from instructmining.report.stats import ok_runs
from instructmining.report.tables import ReportInputs


def _code(command: str) -> str:
    return f"<code>{esc(command)}</code>"


def _n(inputs: ReportInputs) -> str:
    """The selection size the figures were measured at (compare's, else N)."""
    compare = inputs.tables.get("compare")
    if compare is not None and "n" in compare and compare["n"].notna().any():
        return str(int(compare["n"].dropna().max()))
    return "N"


def _subsets(inputs: ReportInputs) -> int:
    runs = inputs.tables.get("runs")
    if runs is None:
        return 0
    ok = ok_runs(runs)
    return int(ok.loc[ok["subset_id"] != BASELINE, "subset_id"].nunique())


def _against_random(inputs: ReportInputs) -> list[dict]:
    """Rule − random rows: compare_summary.parquet's, else (a workspace compared before the
    summary existed) the t intervals over seeds of compare.parquet, on the fit set."""
    summary = compare_summary(inputs)
    if summary is not None:
        return summary.to_dict("records")
    compare = inputs.tables.get("compare")
    rule = rule_selector(compare) if compare is not None else None
    if rule is None:
        return []
    return [
        {"eval_set": "fit", **d, "selector": "random"}
        for d in differences(compare)
        if d["selector"] == rule
    ]


def next_step(inputs: ReportInputs) -> tuple[str, str]:
    """(which step: "run more subsets", "refine" or "use the selection", why and how, HTML)."""
    from instructmining.rule.verdict import better_than_chance, random_outcomes

    ws, n, k = inputs.root, _n(inputs), _subsets(inputs)
    more = (
        f"{_code(f'instructmining design {ws} --add {max(k, 8)}')}, then "
        f"{_code(f'instructmining experiment {ws}')} and {_code(f'instructmining fit {ws}')}"
    )
    if inputs.rule is None:
        return "run more subsets", f"No rule yet ({k} subsets with finished runs): {more}."
    fit = inputs.rule.stats
    published = fit.get("permutation_p") is None and fit.get("cv_r2") is None
    if not published and not better_than_chance(fit.get("permutation_p"), fit.get("cv_r2")):
        return (
            "run more subsets",
            f"With {k} subsets the rule is not better than chance, so more evidence comes "
            f"first: {more}; each added subset is chosen where it tells the rule most.",
        )
    outcomes = random_outcomes(_against_random(inputs))
    if outcomes and all(outcome == "beats" for _, outcome, _ in outcomes):
        select = (
            f"instructmining select {ws}/pool.parquet --rule {ws}/rule.json --top {n} "
            "-o selected.jsonl"
        )
        return (
            "use the selection",
            f"The rule's selection of {n} beats random on every evaluation set compared, by the "
            f"deciding interval: use the selection ({_code(select)}) for your fine-tune.",
        )
    if any(outcome == "is worse than" for _, outcome, _ in outcomes):
        return (
            "run more subsets",
            f"The rule's selection of {n} is worse than random on an evaluation set: do not use "
            f"it; {more}.",
        )
    measured = "is not shown to beat random" if outcomes else "has not been compared with random"
    return (
        "refine",
        f"The rule is {'published' if published else 'better than chance'} but its selection of "
        f"{n} {measured}: refine it with {_code(f'instructmining refine {ws} --rounds 3 --n {n}')} "
        "(each round fine-tunes the predicted best selection, adds it as a subset and refits), "
        f"then judge it with {_code(f'instructmining compare {ws} --n {n}')}.",
    )


def render_next_step(inputs: ReportInputs) -> str:
    step, how = next_step(inputs)
    return f"<p><strong>Next step: {esc(step)}.</strong> {how}</p>"
