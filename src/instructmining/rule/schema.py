"""The schema of a rule file, checked in full when it loads.

A rule that is accepted but cannot score (a non-finite or absurd number, no indicator, a tree
whose child points outside it or back up) would rank the pool by id, or never finish, and say
nothing. Checking every number, shape and tree index at load turns each into one line.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from instructmining.errors import UserError

# A rule predicts a log loss: no coefficient or intercept of a sane rule comes near this, and
# anything larger overflows to inf once multiplied by an indicator value.
MAX_MAGNITUDE = 1e12
# JSON deeper than this is not a rule file (a fitted rule is 5 levels deep).
MAX_DEPTH = 32

Finite = Annotated[float, Field(allow_inf_nan=False, ge=-MAX_MAGNITUDE, le=MAX_MAGNITUDE)]


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class IndicatorEntry(_Open):
    column: str = Field(min_length=1)


class Coefficient(_Open):
    raw: Finite


class Tree(BaseModel):
    """One regression tree as parallel arrays (sklearn's layout); -1 marks a leaf's children."""

    left: list[int]
    right: list[int]
    feature: list[int]
    threshold: list[Finite]
    value: list[Finite]

    @model_validator(mode="after")
    def _a_tree(self) -> Tree:
        n = len(self.left)
        if n == 0 or any(
            len(a) != n for a in (self.right, self.feature, self.threshold, self.value)
        ):
            raise ValueError("left, right, feature, threshold and value must be equally long")
        for node, (a, b) in enumerate(zip(self.left, self.right, strict=True)):
            if (a == -1) != (b == -1):
                raise ValueError(f"node {node} has one child")
            for child in (a, b):
                if child != -1 and not 0 <= child < n:
                    raise ValueError(f"node {node}: child {child} is outside the {n} nodes")
        _check_acyclic(self.left, self.right)
        return self


def _check_acyclic(left: list[int], right: list[int]) -> None:
    """Every node is reached once from the root: a child pointing back up (or twice to one node)
    would make prediction loop forever."""
    seen = {0}
    stack = [0]
    while stack:
        node = stack.pop()
        for child in (left[node], right[node]):
            if child == -1:
                continue
            if child in seen:
                raise ValueError(f"node {node}: child {child} is reached twice (a cycle)")
            seen.add(child)
            stack.append(child)


class Ensemble(BaseModel):
    init: Finite
    learning_rate: Finite = Field(gt=0)
    center: dict[str, Finite]
    scale: dict[str, Annotated[Finite, Field(gt=0)]]
    trees: list[Tree] = Field(min_length=1)


class RuleFile(_Open):
    format: str
    model: str
    indicators: list[IndicatorEntry] = Field(min_length=1)
    intercept: Finite = 0.0
    coefficients: dict[str, Coefficient] = Field(default_factory=dict)
    gbm: Ensemble | None = None

    @model_validator(mode="after")
    def _consistent(self) -> RuleFile:
        columns = [entry.column for entry in self.indicators]
        if len(set(columns)) != len(columns):
            raise ValueError("indicators: a column is listed twice")
        if self.gbm is None:
            if set(self.coefficients) != set(columns):
                raise ValueError("coefficients: one per indicator")
            return self
        for name in ("center", "scale"):
            if set(getattr(self.gbm, name)) != set(columns):
                raise ValueError(f"gbm.{name}: one value per indicator")
        for number, tree in enumerate(self.gbm.trees):
            for node, (child, feature) in enumerate(zip(tree.left, tree.feature, strict=True)):
                if child != -1 and not 0 <= feature < len(columns):
                    raise ValueError(
                        f"gbm.trees.{number}: node {node} splits on feature {feature}, "
                        f"but the rule has {len(columns)} indicator(s)"
                    )
        return self


def _depth(value: Any) -> int:
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return deepest


def validate_rule_data(data: Any, where: str) -> None:
    """Raise a one-line `UserError` naming the first problem of a rule file's JSON."""
    if not isinstance(data, dict):
        raise UserError(f"{where}: not a valid rule file: expected a JSON object")
    if _depth(data) > MAX_DEPTH:
        raise UserError(f"{where}: not a valid rule file: nested deeper than {MAX_DEPTH} levels")
    try:
        RuleFile.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(p) for p in first["loc"])
        message = first["msg"].removeprefix("Value error, ")
        raise UserError(
            f"{where}: not a valid rule file: {key + ': ' if key else ''}{message}"
        ) from exc
