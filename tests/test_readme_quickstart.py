"""The README's quick start runs as written from the root of a fresh clone after `make install`:
the first block under "## Score and select", run by bash from a folder that holds the clone's
files (linked) and this test's venv as `.venv`, so its outputs land in a temporary folder."""

from __future__ import annotations

import itertools
import json
import math
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
# The indicator each selector ranks by, as a selected record's `indicators` names it.
RANKED_BY = {"ifd": "ifd", "length": "output_len"}


def quickstart_block() -> str:
    """The first code block of the README's "## Score and select" section."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Score and select\n", 1)[1].split("\n## ", 1)[0]
    return re.search(r"```[a-z]*\n(.*?)```", section, flags=re.S)[1]


def commands(block: str) -> list[list[str]]:
    """The block's commands as argument lists: continuation lines joined, comments dropped."""
    lines = block.replace("\\\n", " ").splitlines()
    return [words for line in lines if (words := shlex.split(line, comments=True))]


def option(words: list[str], name: str) -> str | None:
    return words[words.index(name) + 1] if name in words else None


def strict_records(path: Path) -> list[dict]:
    """Every line of a JSON Lines file, refusing NaN and Infinity as strict JSON does."""

    def refuse(constant: str) -> None:
        raise ValueError(f"{path.name}: {constant} is not JSON")

    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line, parse_constant=refuse) for line in lines]


def fresh_clone_view(tmp_path: Path, outputs: set[str]) -> Path:
    """A folder whose entries link to the clone's (relative inputs resolve as from its root),
    with this test's venv as `.venv` and no entry where the block writes its outputs."""
    venv = Path(sys.executable).parent.parent  # not resolved: a venv's python is a link
    assert (venv / "bin" / "activate").exists(), (
        f"run this test from the venv `make install` makes; {venv} has no bin/activate"
    )
    clone = tmp_path / "clone"
    clone.mkdir()
    for entry in ROOT.iterdir():
        if entry.name not in outputs | {".git", ".venv"}:
            (clone / entry.name).symlink_to(entry)
    (clone / ".venv").symlink_to(venv)
    return clone


@pytest.mark.slow
def test_readme_quick_start_runs_as_written(tmp_path: Path) -> None:
    block = quickstart_block()
    steps = commands(block)
    assert steps[0] == ["source", ".venv/bin/activate"]
    tool = [words for words in steps[1:] if words[0] == "instructmining"]
    assert len(tool) == len(steps) - 1 and [w[1] for w in tool[:2]] == ["pool", "select"]
    assert any(option(words, "--selector") == "ifd" for words in tool), "the real model's path"
    outputs = {Path(option(words, "-o")).parts[0] for words in tool}
    clone = fresh_clone_view(tmp_path, outputs)

    # -e stops at the first failing command; -x names it in the log.
    run = subprocess.run(
        ["bash", "-e", "-x", "-c", block], cwd=clone, capture_output=True, text=True, timeout=1800
    )
    assert run.returncode == 0, run.stderr[-4000:]

    build = tool[0]
    pool = pd.read_parquet(clone / option(build, "-o"))
    sources = list(itertools.takewhile(lambda word: not word.startswith("-"), build[3:]))
    assert len(pool) == int(option(build, "--per-source")) * len(sources)
    assert pool["source"].nunique() == len(sources)
    for words in tool[1:]:
        assert words[1] == "select" and Path(words[2]) == Path(option(build, "-o"))
        out = clone / option(words, "-o")
        top, fraction = option(words, "--top"), option(words, "--fraction")
        n = int(top) if top else math.floor(float(fraction) * len(pool) + 0.5)
        records = strict_records(out)
        assert [r["rank"] for r in records] == list(range(1, n + 1)), out.name
        assert set(r["id"] for r in records) <= set(pool["id"])
        ranked_by = RANKED_BY[option(words, "--selector")]
        values = [r["indicators"][ranked_by] for r in records]
        assert values == sorted(values, reverse=True) and all(math.isfinite(v) for v in values)
        scores = pd.read_parquet(out.with_name(out.stem + ".scores.parquet"))
        assert len(scores) == len(pool) and scores["selected"].sum() == n
