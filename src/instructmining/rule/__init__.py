"""Fit the quality rule (log eval loss ~ indicators) and apply fitted or published rules."""

from instructmining.rule.fit import FitResult, fit_rule
from instructmining.rule.model import Rule, load_rule
from instructmining.rule.published import PUBLISHED_RULES
from instructmining.rule.stage import fit_stage
from instructmining.rule.table import TARGET, FitTable, fit_table, load_fit_table

__all__ = [
    "PUBLISHED_RULES",
    "TARGET",
    "FitResult",
    "FitTable",
    "Rule",
    "fit_rule",
    "fit_stage",
    "fit_table",
    "load_fit_table",
    "load_rule",
]
