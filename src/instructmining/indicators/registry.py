"""Indicator names -> their classes, imported lazily so `--list` and errors stay fast.

Names that share a model and its forward passes (ppl and ifd) map to one class; a run builds
one instance per class with the requested names.
"""

from __future__ import annotations

import difflib
import importlib
import re
from typing import Any

import pandas as pd

from instructmining.errors import UserError
from instructmining.indicators.base import Indicator, resolve_precision
from instructmining.indicators.options import IndicatorOptions

_REGISTRY: dict[str, str] = {
    "length": "length:LengthIndicator",
    "mtld": "mtld:MtldIndicator",
    "ppl": "perplexity:PerplexityIndicator",
    "ifd": "perplexity:PerplexityIndicator",
    "reward": "reward:RewardIndicator",
    "unieval": "unieval:UniEvalIndicator",
    "knn": "knn:KnnIndicator",
    "judge": "judge:JudgeIndicator",
}
INDICATOR_NAMES: tuple[str, ...] = tuple(_REGISTRY)


def indicator_class(name: str) -> type[Indicator]:
    """The class serving `name`; an unknown name fails with the closest known ones."""
    target = _REGISTRY.get(name)
    if target is None:
        close = difflib.get_close_matches(name, INDICATOR_NAMES, n=2, cutoff=0.5)
        hint = f"; did you mean {' or '.join(close)}?" if close else ""
        raise UserError(f"unknown indicator {name!r}{hint} (known: {', '.join(INDICATOR_NAMES)})")
    module, cls = target.split(":")
    return getattr(importlib.import_module(f"instructmining.indicators.{module}"), cls)


def parse_names(names: str | list[str] | tuple[str, ...]) -> list[str]:
    """Split comma lists, drop repeats, expand `all`, and check every name."""
    items = names.split(",") if isinstance(names, str) else [n for x in names for n in x.split(",")]
    parsed: list[str] = []
    for item in (x.strip() for x in items):
        expanded = list(INDICATOR_NAMES) if item == "all" else [item] if item else []
        parsed += [n for n in expanded if n not in parsed]
    if not parsed:
        raise UserError(f"no indicators named (known: {', '.join(INDICATOR_NAMES)})")
    for name in parsed:
        indicator_class(name)
    return parsed


def instantiate(names: str | list[str], options: IndicatorOptions) -> list[Indicator]:
    """One indicator instance per class, in registry order, with the names it serves."""
    wanted = parse_names(names)
    instances: list[Indicator] = []
    seen: set[type[Indicator]] = set()
    for name in INDICATOR_NAMES:
        if name in wanted:
            cls = indicator_class(name)
            if cls not in seen:
                seen.add(cls)
                instances.append(cls(wanted, options))
    return instances


def indicator_columns(names: str | list[str], options: IndicatorOptions | None = None) -> list[str]:
    """Output columns of the named indicators, in registry order (e.g. knn -> knn6)."""
    options = options or IndicatorOptions()
    return [c for ind in instantiate(names, options) for c in ind.outputs()]


def indicator_definitions(
    names: str | list[str],
    options: IndicatorOptions | None = None,
    frame: pd.DataFrame | None = None,
) -> dict[str, dict[str, Any]]:
    """column -> {indicator, version, model identity, params, precision}: provenance for rules."""
    options = options or IndicatorOptions()
    precision = resolve_precision(options)
    definitions: dict[str, dict[str, Any]] = {}
    for ind in instantiate(names, options):
        definition = ind.definition(frame, precision)
        for column in ind.outputs():
            definitions[column] = definition
    return definitions


_PATTERNS = [(re.compile(r"knn\d+"), "knn"), (re.compile(r"unieval_\w+"), "unieval")]


def column_to_indicator(column: str) -> str:
    """The indicator name that produces a column: knn6 -> knn, unieval_nat -> unieval."""
    if column in ("input_len", "output_len"):
        return "length"
    if column in _REGISTRY:
        return column
    for pattern, name in _PATTERNS:
        if pattern.fullmatch(column):
            return name
    raise UserError(f"column {column!r} is not produced by any indicator")
