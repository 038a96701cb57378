"""Library errors name Python parameters; the CLI shows the flag of the command being run."""

from __future__ import annotations

import pandas as pd
import pytest
import typer

from instructmining.cli import main  # noqa: F401  (registers every command on the app)
from instructmining.cli.app import app, name_flags
from instructmining.errors import UserError, param
from instructmining.selection import resolve_size


def _params(*path: str) -> list:
    command = typer.main.get_command(app)
    for name in path:
        command = command.commands[name]
    return command.params


def test_the_api_error_names_the_parameter() -> None:
    with pytest.raises(UserError, match=r"^`top` must be a positive number of examples, got 0$"):
        resolve_size(10, top=0)
    assert param("max_indicators") == "`max_indicators`"


def test_the_cli_error_names_the_flag(tmp_path, cli) -> None:
    pool = tmp_path / "pool.parquet"
    row = {"id": "a", "source": "s", "instruction": "x", "input": "", "output": "y", "system": ""}
    pd.DataFrame([row]).to_parquet(pool)
    code, _, err = cli("select", pool, "-o", tmp_path / "s.jsonl", "--top", "0")
    assert code == 2
    assert err.strip() == "error: --top must be a positive number of examples, got 0"


def test_only_the_commands_own_parameters_become_flags() -> None:
    search = _params("search")
    assert name_flags("`n_max` 9 exceeds the pool", search) == "--max 9 exceeds the pool"
    assert name_flags("`max_indicators` must be at least 1", search) == (
        "`max_indicators` must be at least 1"  # not an option of search: left as written
    )
    assert name_flags("`workspace` is an argument, not a flag", search) == (
        "`workspace` is an argument, not a flag"
    )
    fit = _params("fit")
    assert name_flags("`max_indicators` and `folds`", fit) == "--max-indicators and --folds"
    assert name_flags("`output` (`pool build --source NAME`)", fit) == (
        "--output (`pool build --source NAME`)"  # -o/--output: the long flag
    )
    assert name_flags("`per_source` must be at least 1", _params("pool", "build")) == (
        "--per-source must be at least 1"
    )
