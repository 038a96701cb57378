"""One vocabulary on every command: a help text on every option and argument, one spelling per
meaning (--cache-dir, --threads, --indicators-file, the workspace as the first argument,
--test-eval repeatable), every selector in the help, and each old spelling still working for one
release with a one-line note on stderr."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import typer

from instructmining.cli import main  # noqa: F401  (registers every command on the app)
from instructmining.cli.app import WORKSPACE_ARGUMENT, app, renew_spellings
from instructmining.selection.selectors import SELECTORS

# Spellings that name the same thing as a current one; no command may declare them.
OLD_SPELLINGS = {"--cache", "--jobs", "-w", "--workspace", "--n-jobs", "--num-threads"}


def _commands() -> Iterator[tuple[str, Any]]:
    """(command path, click command) for every leaf command, groups walked."""

    def walk(command: Any, path: list[str]) -> Iterator[tuple[str, Any]]:
        subcommands = getattr(command, "commands", None)
        if subcommands is None:
            yield " ".join(path), command
        for name, sub in (subcommands or {}).items():
            yield from walk(sub, [*path, name])

    yield from walk(typer.main.get_command(app), [])


COMMANDS = dict(_commands())


def _long(param: Any) -> str:
    return next((o for o in param.opts if o.startswith("--")), param.opts[0])


def _kind(param: Any) -> str:
    """The value's type (Path, int, str...), one value's where the option repeats."""
    return re.sub(r"^list\[(.*)\]$", r"\1", str(param.bare_type()))


def _options(command: Any) -> list[Any]:
    return [p for p in command.params if p.param_type_name == "option" and p.name != "help"]


def test_the_walk_sees_every_command():
    assert {"select", "search", "compare", "fit", "indicators", "runs import", "pool build"} <= set(
        COMMANDS
    )


@pytest.mark.parametrize("path", sorted(COMMANDS))
def test_every_option_and_argument_has_a_help_text(path):
    command = COMMANDS[path]
    assert (command.help or "").strip(), f"{path}: no command help"
    missing = [p.name for p in command.params if not (getattr(p, "help", None) or "").strip()]
    assert not missing, f"{path}: no help on {missing}"


@pytest.mark.parametrize("path", sorted(COMMANDS))
def test_one_spelling_per_meaning(path):
    command = COMMANDS[path]
    flags = {o for p in command.params for o in [*p.opts, *p.secondary_opts]}
    assert not flags & OLD_SPELLINGS, f"{path} declares an old spelling"
    for option in _options(command):
        kind = _kind(option)
        if "cache" in option.name:
            assert _long(option) == "--cache-dir", f"{path}: a cache folder is --cache-dir"
        if "thread" in (option.help or "").lower().split(" ", 1)[0]:
            assert _long(option) == "--threads", f"{path}: a thread count is --threads"
        if _long(option).startswith("--indicators"):  # names are text; a table is a file
            expected = "--indicators-file" if kind == "Path" else "--indicators"
            assert _long(option) == expected, f"{path}: {_long(option)} of type {kind}"
        if _long(option) == "--test-eval":
            assert option.multiple, f"{path}: --test-eval is repeatable everywhere"
    arguments = [p for p in command.params if p.param_type_name == "argument"]
    if any(p.name == "workspace" for p in command.params):
        assert arguments and arguments[0].name == "workspace", f"{path}: workspace comes first"


def test_a_flag_has_one_type_on_every_command():
    kinds: dict[str, dict[str, str]] = {}
    for path, command in COMMANDS.items():
        for option in _options(command):
            kinds.setdefault(_long(option), {})[path] = _kind(option)
    mixed = {flag: seen for flag, seen in kinds.items() if len(set(seen.values())) > 1}
    assert not mixed


@pytest.mark.parametrize("path", sorted(COMMANDS))
def test_renamed_spellings_lead_to_declared_options(path):
    command = COMMANDS[path]
    flags = {o for p in command.params for o in [*p.opts, *p.secondary_opts]}
    for old, new in getattr(command, "renamed", {}).items():
        assert old not in flags, f"{path}: {old} still declared (and shown in --help)"
        if new == WORKSPACE_ARGUMENT:
            assert command.params[0].name == "workspace"
        else:
            assert new in flags, f"{path}: {old} renamed to the undeclared {new}"


def test_every_selector_and_baseline_is_in_the_help():
    select = {_long(p): p.help for p in _options(COMMANDS["select"])}
    compare = {_long(p): p.help for p in _options(COMMANDS["compare"])}
    assert {"judge", "unieval", "mixture"} <= set(SELECTORS)
    for name in SELECTORS:
        assert name in select["--selector"]
        if name not in ("rule", "random"):
            assert name in compare["--baselines"]


def test_renew_spellings_rewrites_only_old_spellings():
    renamed = {"--cache": "--cache-dir", "-w": WORKSPACE_ARGUMENT}
    args, notes = renew_spellings(
        ["f.csv", "--cache=c", "-w", "ws", "--cache-dir", "d", "--", "--cache"], renamed
    )
    assert args == ["ws", "f.csv", "--cache-dir=c", "--cache-dir", "d", "--", "--cache"]
    assert notes == [
        "note: --cache is deprecated and goes in the next release; use --cache-dir",
        "note: -w is deprecated and goes in the next release; use the first argument (WORKSPACE)",
    ]


def _pool(tmp_path: Path) -> Path:
    pool = tmp_path / "pool.parquet"
    frame = pd.DataFrame(
        {
            "id": [f"e{i}" for i in range(8)],
            "source": ["a", "b"] * 4,
            "instruction": [f"say {i}" for i in range(8)],
            "input": [""] * 8,
            "output": [" ".join(["word"] * (i + 2)) for i in range(8)],
        }
    )
    frame.to_parquet(pool)
    return pool


def _notes(err: str) -> list[str]:
    return [line for line in err.splitlines() if "is deprecated" in line]


def test_indicators_cache_and_subsets_still_work_with_a_note(tmp_path, cli):
    pool = _pool(tmp_path)
    out, cache = tmp_path / "ind.parquet", tmp_path / "old-cache"
    code, _, err = cli("indicators", pool, "-o", out, "--indicators", "length", "--cache", cache)
    assert code == 0, err
    assert _notes(err) == [
        "note: --cache is deprecated and goes in the next release; use --cache-dir"
    ]
    assert cache.is_dir() and any(cache.rglob("*")) and len(pd.read_parquet(out)) == 8
    subsets = tmp_path / "subsets.parquet"
    pd.DataFrame(
        {"subset_id": ["a"] * 4 + ["b"] * 4, "id": [f"e{i}" for i in range(8)]}
    ).to_parquet(subsets)
    means = tmp_path / "means.parquet"
    args = ["indicators", pool, "-o", means, "--indicators", "length", "--cache-dir", cache]
    code, _, err = cli(*args, "--subsets", subsets)
    assert code == 0, err
    assert _notes(err) == [
        "note: --subsets is deprecated and goes in the next release; use --subsets-file"
    ]
    assert sorted(pd.read_parquet(means)["subset_id"]) == ["a", "b"]


def test_sample_indicators_still_works_with_a_note(tmp_path, cli):
    pool = _pool(tmp_path)
    indicators = tmp_path / "elsewhere.parquet"
    pd.DataFrame({"id": [f"e{i}" for i in range(8)], "mtld": range(8)}).to_parquet(indicators)
    args = ["sample", pool, "-o", tmp_path / "s.parquet", "--subsets", 2, "--size", 3]
    code, _, err = cli(*args, "--design", "spread", "--indicators", indicators)
    assert code == 0, err
    assert _notes(err) == [
        "note: --indicators is deprecated and goes in the next release; use --indicators-file"
    ]
    code, _, err = cli(*args[:3], tmp_path / "t.parquet", *args[4:], "--design", "spread")
    assert code == 2 and "--indicators-file" in err  # the error names the new spelling


def test_run_workspace_still_works_with_a_note(tmp_path, cli):
    config = tmp_path / "missing.yaml"
    code, _, err = cli("run", config, "--workspace", tmp_path / "ws")
    assert _notes(err) == [
        "note: --workspace is deprecated and goes in the next release; use --output"
    ]
    assert code == 2 and "No such option" not in err and "missing.yaml" in err


def test_search_takes_test_eval_more_than_once(tmp_path, cli):
    ws = tmp_path / "ws"
    ws.mkdir()
    first = tmp_path / "a.jsonl"
    first.write_text(json.dumps({"instruction": "q", "output": "a"}) + "\n")
    args = ["search", ws, "--rule", "paper-v1", "--test-eval", f"b={tmp_path / 'nope.jsonl'}"]
    code, _, err = cli(*args, "--test-eval", f"a={first}")  # one value only: the last one wins
    assert code == 2 and "nope.jsonl: no such evaluation file" in err, err
