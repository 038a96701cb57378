"""Imports run downward: the library never imports the CLI, which sits on top of it.

A stage that needs something the CLI prints takes it from a module below both (for example
`report.console`), so the Python API and the YAML `run` work without the command-line layer.
"""

from __future__ import annotations

import ast
from pathlib import Path

import instructmining

PACKAGE = Path(instructmining.__file__).parent
CLI = "instructmining.cli"


def _imported_modules(tree: ast.AST) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
    return found


def test_no_module_outside_the_cli_imports_the_cli() -> None:
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if (PACKAGE / "cli") in path.parents:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        offenders += [
            f"{path.relative_to(PACKAGE)}:{line}: {name}"
            for line, name in _imported_modules(tree)
            if name == CLI or name.startswith(f"{CLI}.")
        ]
    assert offenders == []


def test_the_check_sees_an_import_of_the_cli() -> None:
    tree = ast.parse("def f():\n    from instructmining.cli.select import x\n")
    assert _imported_modules(tree) == [(2, "instructmining.cli.select.x")]
