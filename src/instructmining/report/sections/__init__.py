"""The report's sections in page order; each renders its body from the workspace's tables."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from instructmining.report.sections.coefficients import render_ablation, render_coefficients
from instructmining.report.sections.compare import render_compare
from instructmining.report.sections.eval_sets import render_eval_sets
from instructmining.report.sections.examples import render_examples
from instructmining.report.sections.fit import render_fit
from instructmining.report.sections.indicators import render_correlations, render_distributions
from instructmining.report.sections.next_step import render_next_step
from instructmining.report.sections.refine import render_refine
from instructmining.report.sections.runs import render_runs
from instructmining.report.sections.search import render_search
from instructmining.report.sections.summary import render_summary
from instructmining.report.sections.verdict import render_verdict
from instructmining.report.tables import ReportInputs


@dataclass(frozen=True)
class Section:
    id: str  # the <h2 id>, stable so links and tests can rely on it
    title: str
    render: Callable[[ReportInputs], str]


SECTIONS: list[Section] = [
    Section("verdict", "Verdict", render_verdict),
    Section("summary", "Summary", render_summary),
    Section("distributions", "Indicator distributions per source", render_distributions),
    Section("correlations", "Indicator correlations", render_correlations),
    Section("runs", "Fine-tuning runs", render_runs),
    Section("fit", "Predicted vs measured log loss", render_fit),
    Section("coefficients", "Rule coefficients", render_coefficients),
    Section("ablation", "Ablation and model comparison", render_ablation),
    Section("eval-sets", "Evaluation sets: agreement and transfer", render_eval_sets),
    Section("refine", "Selection inside the evidence and refine rounds", render_refine),
    Section("search", "Loss vs n (BlendSearch)", render_search),
    Section("compare", "Selected vs random and baselines", render_compare),
    Section("examples", "Top- and bottom-ranked examples", render_examples),
    Section("next-step", "Next step", render_next_step),
]
