"""A quality rule: predicted log eval loss from indicator values, stored as plain JSON.

Linear rules (OLS, ridge, lasso, the published ones) keep raw-scale coefficients, so applying a
rule needs no library; gradient-boosted rules keep their trees as arrays in the same JSON, so a
rule file is one portable, inspectable, unpicklable document.
"""

from __future__ import annotations

import copy
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from instructmining.errors import UserError
from instructmining.paths import require_file
from instructmining.rule.schema import validate_rule_data
from instructmining.rule.targets import FIT_TARGET, Target

RULE_FORMAT = "instructmining-rule/1"


@dataclass
class TreeEnsemble:
    """Gradient-boosted regression trees on standardised features (squared-error loss)."""

    init: float
    learning_rate: float
    center: dict[str, float]
    scale: dict[str, float]
    trees: list[dict[str, list]]

    @classmethod
    def from_sklearn(cls, gbm: Any, columns: list[str], center, scale) -> TreeEnsemble:
        """Copy a fitted GradientBoostingRegressor's trees into plain lists."""
        trees = []
        for est in gbm.estimators_[:, 0]:
            t = est.tree_
            trees.append(
                {
                    "left": t.children_left.tolist(),
                    "right": t.children_right.tolist(),
                    "feature": t.feature.tolist(),
                    "threshold": t.threshold.tolist(),
                    "value": t.value[:, 0, 0].tolist(),
                }
            )
        return cls(
            init=float(np.ravel(gbm.init_.constant_)[0]),
            learning_rate=float(gbm.learning_rate),
            center={c: float(m) for c, m in zip(columns, center, strict=True)},
            scale={c: float(s) for c, s in zip(columns, scale, strict=True)},
            trees=trees,
        )

    def predict(self, x: np.ndarray, columns: list[str]) -> np.ndarray:
        # sklearn compares float32 features against its thresholds; do the same to match exactly.
        center = np.array([self.center[c] for c in columns])
        scale = np.array([self.scale[c] for c in columns])
        z = ((x - center) / scale).astype(np.float32)
        out = np.full(len(z), self.init, dtype=np.float64)
        rows = np.arange(len(z))
        for tree in self.trees:
            left, right = np.asarray(tree["left"]), np.asarray(tree["right"])
            feature, threshold = np.asarray(tree["feature"]), np.asarray(tree["threshold"])
            node = np.zeros(len(z), dtype=np.int64)
            while True:
                inner = left[node] != -1
                if not inner.any():
                    break
                go_left = z[rows, np.maximum(feature[node], 0)] <= threshold[node]
                node = np.where(inner, np.where(go_left, left[node], right[node]), node)
            out += self.learning_rate * np.asarray(tree["value"])[node]
        return out


@dataclass
class Rule:
    """Predicts log eval loss from indicator columns; lower prediction = better example.

    `info` carries everything that is reported but not needed to apply the rule (statistics,
    provenance, per-coefficient standard errors); it round-trips through JSON unchanged.
    """

    name: str
    model: str
    indicators: list[str]
    intercept: float = 0.0
    coefficients: dict[str, float] = field(default_factory=dict)
    ensemble: TreeEnsemble | None = None
    definitions: dict[str, dict[str, Any]] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)
    target: Target = FIT_TARGET  # what the prediction is of (rule.targets)

    def predict(self, table: pd.DataFrame) -> np.ndarray:
        """Predicted log eval loss per row of `table` (NaN where an indicator is missing)."""
        missing = [c for c in self.indicators if c not in table.columns]
        if missing:
            raise UserError(f"rule {self.name!r} needs indicator column(s) {', '.join(missing)}")
        x = table[self.indicators].to_numpy(dtype=np.float64)
        if self.ensemble is not None:
            out = self.ensemble.predict(np.nan_to_num(x), self.indicators)
            out[np.isnan(x).any(axis=1)] = np.nan
            return out
        beta = np.array([self.coefficients[c] for c in self.indicators])
        return self.intercept + x @ beta

    def describe(self) -> str:
        """The rule in one line, e.g. `log L = 1.07 - 0.1498 reward + 8.257e-05 output_len`."""
        if self.ensemble is not None:
            trees = len(self.ensemble.trees)
            return f"{self.target.symbol} = gbm({', '.join(self.indicators)}), {trees} trees"
        terms = "".join(
            f" {'-' if b < 0 else '+'} {abs(b):.4g} {c}" for c, b in self.coefficients.items()
        )
        return f"{self.target.symbol} = {self.intercept:.4g}{terms}"

    def to_dict(self) -> dict[str, Any]:
        details = self.info.get("coefficients", {})
        coefficients = {
            c: {"raw": self.coefficients[c], **details.get(c, {})} for c in self.coefficients
        }
        out: dict[str, Any] = {
            "format": RULE_FORMAT,
            "name": self.name,
            "model": self.model,
            "target": self.target.to_dict(),
            "indicators": [
                {"column": c, **self.definitions.get(c, {"column": c})} for c in self.indicators
            ],
            "intercept": self.intercept,
            "coefficients": coefficients,
        }
        if self.ensemble is not None:
            out["gbm"] = vars(self.ensemble)
        out.update({k: v for k, v in self.info.items() if k != "coefficients"})
        return _jsonable(out)

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str = "rule") -> Rule:
        """A rule from its JSON, validated in full first (`rule.schema`)."""
        if isinstance(data, dict) and data.get("format") != RULE_FORMAT:
            raise UserError(
                f"{where}: not a valid rule file: bad or missing format (expected {RULE_FORMAT!r})"
            )
        validate_rule_data(data, where)
        try:
            definitions = {d["column"]: d for d in data["indicators"]}
            indicators = list(definitions)
            coefficients = {c: float(v["raw"]) for c, v in data.get("coefficients", {}).items()}
            ensemble = TreeEnsemble(**data["gbm"]) if "gbm" in data else None
            if ensemble is None and set(coefficients) != set(indicators):
                raise KeyError("coefficients (one per indicator)")
            reserved = {"format", "name", "model", "target", "indicators", "intercept", "gbm"}
            info = {k: v for k, v in data.items() if k not in reserved}
            info["coefficients"] = {
                c: {k: v for k, v in d.items() if k != "raw"}
                for c, d in data.get("coefficients", {}).items()
            }
            target = Target.from_dict(data.get("target"))
            return cls(
                name=str(data.get("name", where)),
                model=str(data["model"]),
                indicators=indicators,
                intercept=float(data.get("intercept", 0.0)),
                coefficients=coefficients,
                ensemble=ensemble,
                definitions=definitions,
                info=info,
                target=target,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise UserError(f"{where}: not a valid rule file: bad or missing {exc}") from exc


def _jsonable(obj: Any) -> Any:
    """Plain JSON values: numpy scalars unwrapped, tuples as lists, NaN as null."""
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not np.isfinite(obj):
        return None
    return obj


def load_rule(spec: str | Path) -> Rule:
    """A published rule by name (paper-v1, paper-v3) or a rule.json written by `fit`."""
    from instructmining.rule.published import PUBLISHED_RULES

    if str(spec) in PUBLISHED_RULES:
        return copy.deepcopy(PUBLISHED_RULES[str(spec)])
    path = Path(spec)
    if not os.path.lexists(path):
        names = ", ".join(PUBLISHED_RULES)
        raise UserError(f"{spec}: no such rule file, and not a published rule ({names})")
    require_file(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UserError(f"{path}: not a readable rule file ({exc})") from exc
    except RecursionError as exc:
        raise UserError(f"{path}: not a readable rule file (JSON nested too deeply)") from exc
    return Rule.from_dict(data, where=str(path))
