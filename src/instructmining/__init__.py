"""instructmining: select instruction data by a rule fitted to measured fine-tuning outcomes.

The public API, imported lazily (`import instructmining` loads no model library): functions
take and return DataFrames and touch disk only through an explicit `Workspace` or cache folder.
docs/api.md walks the whole loop with them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# name -> module that defines it; the loop's order.
_EXPORTS = {
    "Workspace": "instructmining.workspace",
    "build_pool": "instructmining.data.pool",
    "read_pool": "instructmining.data.pool",
    "read_examples": "instructmining.data.pool",
    "IndicatorOptions": "instructmining.indicators.options",
    "compute_indicators": "instructmining.indicators.run",
    "subset_means": "instructmining.indicators.run",
    "sample_subsets": "instructmining.sampling.subsets",
    "preset": "instructmining.experiments.config",
    "run_experiments": "instructmining.experiments.runner",
    "seed_noise": "instructmining.outcomes",
    "fit_table": "instructmining.rule.table",
    "fit_rule": "instructmining.rule.fit",
    "load_fit_table": "instructmining.rule.table",
    "load_rule": "instructmining.rule.model",
    "score_pool": "instructmining.selection.select",
    "select_top": "instructmining.selection.select",
    "select": "instructmining.selection.table",
    "write_selection": "instructmining.selection.table",
    "demo_data": "instructmining.demo",
    "choose_selection": "instructmining.selection.evidence",
    "refine_stage": "instructmining.selection.refine",
    "compare_evaluator": "instructmining.selection.training",
    "compare_selections": "instructmining.selection.compare",
    "build_report": "instructmining.report.build",
    "run": "instructmining.pipeline.run",
}
_RENAMED = {"run": "run_pipeline"}

__all__ = [
    "__version__",
    "Workspace",
    "build_pool",
    "read_pool",
    "read_examples",
    "IndicatorOptions",
    "compute_indicators",
    "subset_means",
    "sample_subsets",
    "preset",
    "run_experiments",
    "seed_noise",
    "fit_table",
    "fit_rule",
    "load_fit_table",
    "load_rule",
    "score_pool",
    "select_top",
    "select",
    "write_selection",
    "demo_data",
    "choose_selection",
    "refine_stage",
    "compare_evaluator",
    "compare_selections",
    "build_report",
    "run",
]

if TYPE_CHECKING:  # for type checkers and editors; at run time __getattr__ imports on use
    from instructmining.data.pool import build_pool, read_examples, read_pool
    from instructmining.demo import demo_data
    from instructmining.experiments.config import preset
    from instructmining.experiments.runner import run_experiments
    from instructmining.indicators.options import IndicatorOptions
    from instructmining.indicators.run import compute_indicators, subset_means
    from instructmining.outcomes import seed_noise
    from instructmining.pipeline.run import run_pipeline as run
    from instructmining.report.build import build_report
    from instructmining.rule.fit import fit_rule
    from instructmining.rule.model import load_rule
    from instructmining.rule.table import fit_table, load_fit_table
    from instructmining.sampling.subsets import sample_subsets
    from instructmining.selection.compare import compare_selections
    from instructmining.selection.evidence import choose_selection
    from instructmining.selection.refine import refine_stage
    from instructmining.selection.select import score_pool, select_top
    from instructmining.selection.table import select, write_selection
    from instructmining.selection.training import compare_evaluator
    from instructmining.workspace import Workspace


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'instructmining' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), _RENAMED.get(name, name))
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
