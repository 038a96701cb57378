"""Which models a selection's indicator values came from, against those its rule was fitted on.

A rule's coefficients hold only for the measurements they were fitted on: `paper-v1` counts
output length with LLaMA-2's tokenizer and scores with OpenAssistant's reward model. A selection
that computes a column with another model uses a substitute; it is said plainly and recorded.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

from instructmining.errors import UserError, param
from instructmining.models.bundled import HUB_ALIASES
from instructmining.rule.model import Rule
from instructmining.storage import finite_json

# indicator family -> (IndicatorOptions field naming its model, the CLI flag that sets it, role)
MODEL_FLAGS = {
    "reward": ("reward_model", "--reward-model", "reward model"),
    "unieval": ("unieval_model", "--unieval-model", "UniEval model"),
    "knn": ("embedder", "--embedder", "embedder"),
    "length": ("length_tokenizer", "--length-tokenizer", "tokenizer"),
    "ppl": ("lm", "--lm", "causal LM"),
    "ifd": ("lm", "--lm", "causal LM"),
    "judge": ("judge_model", "--judge-model", "judge LM"),
}
METADATA_KEY = b"instructmining_selection"


def wanted_model(definition: dict[str, Any]) -> str | None:
    """The model (or, for lengths, the tokenizer) a rule's definition names."""
    return definition.get("tokenizer") or definition.get("model") or None


def _base(identity: str) -> str:
    """A Hub identity without its snapshot, a plain name in its bundled alias's spelling."""
    name = identity.removeprefix("hub:").split("@", 1)[0]
    return HUB_ALIASES.get(name, name).lower()


def same_model(wanted: str, used: str | None) -> bool:
    """Whether `used` (a model identity from the indicators stage) is the model `wanted` names.

    `wanted` is a plain name (published rules) or an identity recorded by `fit`; a plain name is
    turned into its identity, so a bundled alias and its Hub id match the same local weights.
    """
    if used is None:
        return False
    if not wanted.startswith(("file:", "dir:", "hub:")):
        from instructmining.models.loader import model_identity

        try:
            wanted = model_identity(wanted)
        except UserError:
            wanted = f"hub:{wanted}"
    if wanted == used:
        return True
    both_hub = wanted.startswith("hub:") and used.startswith("hub:")
    return both_hub and _base(wanted) == _base(used)


def substitutes(
    rule: Rule | None,
    used: dict[str, dict[str, Any] | None],
    sources: dict[str, str],
) -> list[dict[str, Any]]:
    """Rule columns whose values came from another model than the rule names.

    `used` maps a column to the definition its values were computed under (None: not recorded);
    `sources` says where each column came from ("computed" or a file name).
    """
    found = []
    for column in rule.indicators if rule else []:
        definition = rule.definitions.get(column) or {}
        wanted = wanted_model(definition)
        if not wanted:
            continue
        actual = used.get(column) or {}
        model = actual.get("model")
        if same_model(wanted, model):
            continue
        flag = MODEL_FLAGS.get(str(definition.get("indicator")), ("", "", "model"))
        found.append(
            {
                "column": column,
                "role": flag[2],
                "rule_model": wanted,
                "used_model": model or "not recorded",
                "values_from": sources.get(column, "computed"),
                "flag": flag[1],
            }
        )
    return found


def substitute_lines(rule_name: str, found: list[dict[str, Any]]) -> list[str]:
    """Plain sentences for the terminal: what was substituted and what that means."""
    lines = [
        f"note: {rule_name} was fitted with {s['rule_model']} as the {s['role']} for "
        f"{s['column']}; this selection used {s['used_model']} ({s['values_from']}; set "
        f"{s['flag']} to change it)"
        for s in found
    ]
    if lines:
        lines.append(
            f"note: {rule_name}'s coefficients were not fitted on these substitutes; its scores "
            "are an approximation (recorded in the scores table's metadata)"
        )
    return lines


def unavailable_models(columns: list[str], options: Any) -> list[str]:
    """`column needs MODEL (set `FIELD`)` for each column whose model cannot be loaded here."""
    from instructmining.indicators.registry import column_to_indicator, instantiate
    from instructmining.models.loader import hub_reachable, model_availability

    problems = []
    for column in columns:
        indicator = instantiate([column_to_indicator(column)], options)[0]
        name = indicator.model_name()
        if not name:
            continue
        where = model_availability(name)
        hub = where.startswith("not offline")
        if where.startswith(("missing", "bundled, not")) or (hub and not hub_reachable()):
            field, _, role = MODEL_FLAGS.get(indicator.family, ("model", "--model", "model"))
            where = "not available offline here" if hub else where
            problems.append(f"{column} needs the {role} {name} ({where}; set {param(field)})")
    return problems


def metadata(ranked: pd.DataFrame) -> dict[bytes, bytes]:
    """Parquet schema metadata holding what `score_pool` recorded in `ranked.attrs`, as strict
    JSON (a non-finite number is null)."""
    if not ranked.attrs:
        return {}
    return {
        METADATA_KEY: json.dumps(finite_json(ranked.attrs), default=str, allow_nan=False).encode()
    }
