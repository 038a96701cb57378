"""`--where EXPR`: keep the pool examples whose indicator values (and source) meet a condition.

The expression is parsed with Python's `ast` and evaluated by walking a whitelist of node
types: comparisons (<, <=, >, >=, ==, !=, chained as in `0.5 < ifd < 1`), `and`, `or`, `not`,
parentheses, numbers, quoted strings and column names. Anything else (a call, an attribute, a
subscript, a lambda, `__import__('os')`) is refused before any data is read; nothing is ever
passed to `eval`. The values compare as pandas compares them: an example without a value fails
every comparison but `!=`.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from instructmining.errors import UserError, param

_COMPARE: dict[type, Callable] = {
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
}
_EQUALITY = (ast.Eq, ast.NotEq)
STRING_COLUMNS = ("source",)  # the pool's columns a condition may name besides indicators

_WHAT = {  # how a refused node is named in the error
    ast.Call: "a call",
    ast.Attribute: "an attribute",
    ast.Subscript: "a subscript",
    ast.Lambda: "a lambda",
    ast.BinOp: "arithmetic",
    ast.IfExp: "an if-expression",
    ast.NamedExpr: "an assignment",
}
ALLOWED = "comparisons, and/or/not, parentheses, numbers, quoted strings and column names"


@dataclass(frozen=True)
class Where:
    """A parsed condition: its text, its tree and the columns it names."""

    text: str
    tree: ast.expr
    columns: tuple[str, ...]

    def check_columns(self, available: Iterable[str]) -> None:
        """Refuse a column the data cannot provide, naming it and those available."""
        known = list(dict.fromkeys(available))
        for column in self.columns:
            if column not in known:
                raise UserError(
                    f"{param('where')} names unknown column {column!r} "
                    f"(columns: {', '.join(known)})"
                )

    def mask(self, table: pd.DataFrame) -> np.ndarray:
        """True for each row of `table` (one column per name in the condition) that meets it."""
        self.check_columns(table.columns)
        return np.asarray(_condition(self.tree, table, self.text), dtype=bool)


def parse_where(text: str) -> Where:
    """The condition `text`, checked against the whitelist; a one-line UserError otherwise."""
    try:
        tree = ast.parse(text.strip(), mode="eval").body
    except SyntaxError as exc:
        raise UserError(
            f"{param('where')} {text!r} is not a valid condition ({exc.msg}); it allows {ALLOWED}"
        ) from None
    _check_condition(tree, text)
    names = [node.id for node in ast.walk(tree) if isinstance(node, ast.Name)]
    return Where(text, tree, tuple(dict.fromkeys(names)))


def _refuse(node: ast.AST, text: str, what: str | None = None) -> UserError:
    what = what or _WHAT.get(type(node), f"a {type(node).__name__}")
    piece = ast.get_source_segment(text.strip(), node) or ""
    shown = f" ({piece})" if piece else ""
    return UserError(
        f"{param('where')} {text!r}: {what}{shown} is not allowed; it allows {ALLOWED}"
    )


def _check_condition(node: ast.AST, text: str) -> None:
    """A node in a true/false position: and/or, not, or a comparison."""
    if isinstance(node, ast.BoolOp):
        for value in node.values:
            _check_condition(value, text)
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        _check_condition(node.operand, text)
    elif isinstance(node, ast.Compare):
        for op in node.ops:
            if type(op) not in _COMPARE:
                raise _refuse(node, text, f"the operator {type(op).__name__}")
        kinds = [_operand_kind(o, text) for o in (node.left, *node.comparators)]
        for op, left, right in zip(node.ops, kinds[:-1], kinds[1:], strict=True):
            if "string" in (left, right) and not isinstance(op, _EQUALITY):
                raise _refuse(node, text, "ordering a string (use == or !=)")
        if all(kind != "column" for kind in kinds):
            raise _refuse(node, text, "a comparison without a column")
    elif isinstance(node, ast.Name | ast.Constant):
        raise _refuse(node, text, "a bare value where a comparison is expected")
    else:
        raise _refuse(node, text)


def _operand_kind(node: ast.AST, text: str) -> str:
    """column, number or string; anything else is refused."""
    if isinstance(node, ast.Name):
        return "column"
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        if _operand_kind(node.operand, text) == "number":
            return "number"
        raise _refuse(node, text, "a sign on something other than a number")
    if isinstance(node, ast.Constant) and not isinstance(node.value, bool):
        if isinstance(node.value, int | float):
            return "number"
        if isinstance(node.value, str):
            return "string"
    raise _refuse(node, text)


def _condition(node: ast.AST, table: pd.DataFrame, text: str) -> pd.Series:
    if isinstance(node, ast.BoolOp):
        parts = [_condition(v, table, text) for v in node.values]
        combine = operator.and_ if isinstance(node.op, ast.And) else operator.or_
        result = parts[0]
        for part in parts[1:]:
            result = combine(result, part)
        return result
    if isinstance(node, ast.UnaryOp):  # `not`: the only unary operator in a true/false position
        return ~_condition(node.operand, table, text)
    values = [_value(o, table) for o in (node.left, *node.comparators)]
    result = pd.Series(True, index=table.index)
    for op, left, right in zip(node.ops, values[:-1], values[1:], strict=True):
        result = result & _compare(op, left, right, text)
    return result


def _compare(op: ast.cmpop, left: object, right: object, text: str) -> pd.Series | bool:
    """One comparison; text compares only with text, numbers only with numbers."""
    kinds = [_kind(v) for v in (left, right)]
    if kinds[0] != kinds[1]:
        column = next(v for v in (left, right) if isinstance(v, pd.Series))
        holds = "text" if _kind(column) == "text" else "numbers"
        other = "a quoted string" if holds == "text" else "a number"
        raise UserError(
            f"{param('where')} {text!r}: column {column.name!r} holds {holds}; compare it "
            f"with {other}"
        )
    return _COMPARE[type(op)](left, right)


def _kind(value: object) -> str:
    if isinstance(value, pd.Series):
        numeric = pd.api.types.is_numeric_dtype(value) and not pd.api.types.is_bool_dtype(value)
        return "numbers" if numeric or value.isna().all() else "text"
    return "text" if isinstance(value, str) else "numbers"


def _value(node: ast.AST, table: pd.DataFrame) -> object:
    if isinstance(node, ast.Name):
        return table[node.id]
    return ast.literal_eval(node)
