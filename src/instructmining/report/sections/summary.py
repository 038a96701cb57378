"""The headline numbers of whatever the workspace holds, and what is still to run."""

from __future__ import annotations

import numpy as np

from instructmining.outcomes import BASELINE
from instructmining.report.explain import explain
from instructmining.report.html import esc, facts, fmt
from instructmining.report.sections.compare import differences, rule_selector
from instructmining.report.sections.fit import formula
from instructmining.report.sections.indicators import indicator_columns
from instructmining.report.sections.runs import base_loss
from instructmining.report.sections.search import best_trial
from instructmining.report.stats import ok_runs
from instructmining.report.tables import TABLES, ReportInputs
from instructmining.rule.targets import Target
from instructmining.workspace import Workspace


def render_summary(inputs: ReportInputs) -> str:
    items: list[tuple[str, str]] = [("workspace", f"<code>{esc(inputs.root)}</code>")]
    t = inputs.tables
    if "pool" in t:
        counts = t["pool"]["source"].astype(str).value_counts().sort_index()
        sources = ", ".join(f"{esc(s)} {n}" for s, n in counts.items())
        items.append(("pool", f"{len(t['pool'])} examples from {len(counts)} sources ({sources})"))
    if "indicators" in t:
        items.append(("indicators", esc(", ".join(indicator_columns(t["indicators"])))))
    if "subsets" in t:
        items.append(("subsets", f"{t['subsets']['subset_id'].nunique()}"))
    design = _design(inputs)
    if design:
        items.append(("design", design))
    if "runs" in t:
        ok = ok_runs(t["runs"])
        tuned = ok[ok["subset_id"] != BASELINE]
        items.append(
            (
                "fine-tuning runs",
                f"{len(tuned)} finished on "
                f"{tuned['subset_id'].nunique()} subsets, {len(t['runs']) - len(ok)} failed",
            )
        )
        base = base_loss(t["runs"])
        if np.isfinite(base):
            items.append(("base model eval loss", fmt(base)))
    if inputs.rule is not None:
        rule = inputs.rule
        stats = ", ".join(
            f"{k} {fmt(rule.stats[k], 3)}" for k in ("r2", "cv_r2") if k in rule.stats
        )
        items.append(
            ("rule", f"<code>{esc(formula(rule))}</code>" + (f" ({stats})" if stats else ""))
        )
        target = Target.from_dict(rule.raw.get("target"))
        items.append(("rule target", esc(target.explain())))
        if rule.eval:
            items.append(
                ("rule fitted on", esc(", ".join(f"{k}: {v}" for k, v in rule.eval.items())))
            )
    if "runs" in t and "eval_hash" in t["runs"] and not (inputs.rule and inputs.rule.eval):
        hashes = ", ".join(map(str, t["runs"]["eval_hash"].dropna().astype(str).unique()))
        items.append(("evaluation set", f"hash {esc(hashes)}"))
    if "search" in t and (best := best_trial(t["search"])) is not None:
        items.append(
            (
                "best n",
                f"{fmt(best['n'])} (eval loss {fmt(best['eval_loss'])}, {len(t['search'])} trials)",
            )
        )
    if "compare" in t and (selector := rule_selector(t["compare"])) is not None:
        for d in differences(t["compare"]):
            if d["selector"] == selector:
                items.append(
                    (
                        f"{selector} − random at n = {fmt(d['n'])}",
                        f"{fmt(d['diff'], 3)} eval loss (95% CI {fmt(d['diff_low'], 3)} to "
                        f"{fmt(d['diff_high'], 3)}, {esc(d['method'])})",
                    )
                )
    todo = [
        f"{esc(spec.file)} (<code>{esc(spec.command)}</code>)"
        for name, spec in TABLES.items()
        if not inputs.has(name) and not spec.optional
    ]
    if todo:
        items.append(("not computed yet", "; ".join(todo)))
    terms = ["D-efficiency"] if design else []
    terms += [
        k for k in ("R²", "CV R²") if inputs.rule is not None and _STATS[k] in inputs.rule.stats
    ]
    return facts(items) + (explain(*terms) if terms else "")


_STATS = {"R²": "r2", "CV R²": "cv_r2"}


def _design(inputs: ReportInputs) -> str | None:
    """The subsets' design and its D-efficiency beside a Dirichlet design's of the same size."""
    from instructmining.sampling.designs import read_design_info

    path = Workspace.of(inputs.root).mixtures
    try:
        info = read_design_info(path) if path.exists() else None
    except (OSError, ValueError):
        return None
    figures = (info or {}).get("figures") or {}
    if "d_efficiency" not in figures:
        return None
    reference = (info.get("dirichlet") or {}).get("d_efficiency")
    beside = f" (a Dirichlet design of the same size: {fmt(reference, 3)})" if reference else ""
    return f"{esc(info.get('design', ''))}, D-efficiency {fmt(figures['d_efficiency'], 3)}{beside}"
