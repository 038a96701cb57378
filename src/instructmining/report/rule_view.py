"""A tolerant reading of rule.json, so the report works with any version of the fit stage.

Keys the report uses (all optional; a missing one leaves its table or number out). Where two
spellings are listed, the first is what `instructmining fit` writes ("instructmining-rule/1"):

    {
      "model": "ols" | "ridge" | "lasso" | "gbm" | "published",
      "indicators": [{"column": "reward", <definition: model, version, ...>}] | ["reward", ...],
      "intercept": 1.07,                       # of log(eval_loss), raw indicator units
      "coefficients": {name: {"raw" | "estimate" | "coef", "se", "p",
                              "ci95": [low, high] | "ci_low" + "ci_high", "vif", "standardised"}
                       | number},
      "ols": {"coefficients": {...}},          # least-squares inference when model is not ols
      "gbm": {...},                            # tree ensemble: applied through instructmining.rule
      "fit" | "stats": {"r2", "adj_r2", "cv_r2", "f_p" | "f_pvalue", "aic", "bic", ...},
      "ablation": [{"set", "indicators", "r2", "adj_r2", "cv_r2"}],
      "selection": {"top": [{"rank", "indicators", "r2", "cv_r2", ...}]},
      "model_comparison": [{"model", "cv_r2", "r2"}] | {model: cv_r2},
      "eval": {...} | "eval_hash", "config_hash", "fitted_on": {...}   # what the rule was fitted on
    }

The predicted log loss of a subset is `intercept + sum(raw coefficient * mean indicator)`. A
statsmodels-style "const"/"Intercept" coefficient is taken as the intercept.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field
from typing import Any

COEFFICIENT_FIELDS = ("estimate", "se", "p", "ci_low", "ci_high", "vif", "standardised")
_ESTIMATE_ALIASES = ("raw", "coef")
_INTERCEPT_NAMES = ("intercept", "const", "Intercept", "(Intercept)")
_EVAL_KEYS = ("eval_name", "eval_file", "eval_hash", "config_hash")


@dataclass(frozen=True)
class RuleView:
    indicators: list[str]
    intercept: float | None
    coefficients: dict[str, dict[str, float]]
    model: str = ""
    definitions: dict[str, dict[str, Any]] = field(default_factory=dict)
    ols_coefficients: dict[str, dict[str, float]] = field(default_factory=dict)
    stats: dict[str, Any] = field(default_factory=dict)
    ablation: list[dict[str, Any]] = field(default_factory=list)
    combinations: list[dict[str, Any]] = field(default_factory=list)
    model_comparison: list[dict[str, Any]] = field(default_factory=list)
    eval: dict[str, Any] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def is_ensemble(self) -> bool:
        return isinstance(self.raw.get("gbm"), dict)

    @property
    def can_predict(self) -> bool:
        linear = self.intercept is not None and all(
            _is_number(self.coefficients.get(n, {}).get("estimate")) for n in self.indicators
        )
        return bool(self.indicators) and (linear or self.is_ensemble)


def rule_view(raw: dict[str, Any]) -> RuleView:
    """Normalise a rule.json object into a RuleView."""
    coefficients = _coefficients(raw.get("coefficients"))
    intercept = raw.get("intercept")
    for name in _INTERCEPT_NAMES:
        entry = coefficients.pop(name, None)
        if intercept is None and entry is not None:
            intercept = entry.get("estimate")
    definitions = _definitions(raw.get("indicators"))
    indicators = [n for n in definitions if n not in _INTERCEPT_NAMES]
    indicators += [n for n in coefficients if n not in indicators]
    ols = raw.get("ols")
    selection = raw.get("selection")
    return RuleView(
        indicators=indicators,
        intercept=float(intercept) if _is_number(intercept) else None,
        coefficients=coefficients,
        model=str(raw.get("model", "")),
        definitions={k: v for k, v in definitions.items() if v},
        ols_coefficients=_coefficients(ols.get("coefficients")) if isinstance(ols, dict) else {},
        stats=_dict(raw.get("fit")) or _dict(raw.get("stats")),
        ablation=_records(raw.get("ablation"), "set"),
        combinations=_records(selection.get("top") if isinstance(selection, dict) else None),
        model_comparison=_records(raw.get("model_comparison"), "model", value_key="cv_r2"),
        eval=_evaluation(raw),
        raw=raw,
    )


def _definitions(raw: Any) -> dict[str, dict[str, Any]]:
    """Indicator name -> its definition (empty when the file lists bare names)."""
    out: dict[str, dict[str, Any]] = {}
    for item in raw if isinstance(raw, list) else []:
        if isinstance(item, dict) and "column" in item:
            out[str(item["column"])] = {k: v for k, v in item.items() if k != "column"}
        elif isinstance(item, str):
            out[item] = {}
    return out


def _coefficients(raw: Any) -> dict[str, dict[str, float]]:
    if isinstance(raw, list):
        raw = {str(r.get("name", r.get("indicator"))): r for r in raw if isinstance(r, dict)}
    if not isinstance(raw, dict):
        return {}
    out: dict[str, dict[str, float]] = {}
    for name, value in raw.items():
        if _is_number(value):
            out[str(name)] = {"estimate": float(value)}
        elif isinstance(value, dict):
            value = dict(value)
            for alias in _ESTIMATE_ALIASES:
                if not _is_number(value.get("estimate")):
                    value["estimate"] = value.get(alias)
            ci = value.get("ci95")
            if isinstance(ci, (list, tuple)) and len(ci) == 2:
                value.setdefault("ci_low", ci[0])
                value.setdefault("ci_high", ci[1])
            out[str(name)] = {
                k: float(value[k]) for k in COEFFICIENT_FIELDS if _is_number(value.get(k))
            }
    return out


def _evaluation(raw: dict[str, Any]) -> dict[str, Any]:
    """What the rule was fitted on: the evaluation set and training config identities."""
    found = dict(_dict(raw.get("eval")))
    found.update({k: raw[k] for k in _EVAL_KEYS if raw.get(k) is not None and k not in found})
    found.update(_dict(raw.get("fitted_on")))
    return found


def _records(raw: Any, key: str | None = None, value_key: str | None = None) -> list[dict]:
    """A list of flat dicts (list values joined with " + "); with `value_key`, a
    {name: number} mapping becomes [{key: name, value_key: number}]."""
    if isinstance(raw, dict) and key is not None and value_key is not None:
        raw = [{key: k, value_key: v} for k, v in raw.items()]
    if not isinstance(raw, list):
        return []
    return [
        {k: " + ".join(map(str, v)) if isinstance(v, (list, tuple)) else v for k, v in r.items()}
        for r in raw
        if isinstance(r, dict)
    ]


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
