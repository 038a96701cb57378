"""Shared by the hardening tests: run the CLI in-process, snapshot folders, check outputs."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import shutil
import stat
import sys
from pathlib import Path

import pyarrow.parquet as pq

from instructmining.cli import main

ROOT = Path(__file__).resolve().parents[2]
BAD = ROOT / "tests" / "data" / "bad"
DATA = ROOT / "tests" / "data"
EVAL = DATA / "self_instruct" / "user_oriented_instructions_sample.jsonl"
CLI = Path(sys.executable).with_name("instructmining")  # the console script of this environment


def run_cli(args: list[str]) -> tuple[int, str, str]:
    """`instructmining ARGS` in this process; (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in args])
    return code, out.getvalue(), err.getvalue()


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file and folder under `folder` (lock files aside) with size and modification time
    (folders as (0, 0): only their existence counts)."""
    return {
        str(p.relative_to(folder)): (0, 0)
        if p.is_dir()
        else (p.stat().st_size, p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
        if p.name != ".lock"
    }


def digests(*folders: Path) -> dict[str, str]:
    """The content hash of every regular file under `folders` (pipes and links to nowhere
    aside): an input rewritten with its old size and time still shows here."""
    found = {}
    for folder in folders:
        for path in sorted(folder.rglob("*")):
            if path.is_file() and not path.is_symlink() and stat.S_ISREG(path.stat().st_mode):
                found[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def leftovers(folder: Path) -> list[str]:
    """Temporary files a write left behind (storage.atomic_path names them `.NAME.*.tmp`)."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*.tmp"))


def unreadable(folder: Path) -> list[str]:
    """Tables and JSON files under `folder` that do not parse: a torn write would show here."""
    bad = []
    for path in sorted(folder.rglob("*")):
        if not path.is_file():
            continue
        try:
            if path.suffix == ".parquet":
                pq.read_table(path)
            elif path.suffix == ".json":
                json.loads(path.read_text(encoding="utf-8"))
            elif path.suffix == ".jsonl":
                for line in path.read_text(encoding="utf-8").splitlines():
                    if line.strip():
                        json.loads(line)
        except Exception as exc:  # any failure to parse is the finding
            bad.append(f"{path.relative_to(folder)}: {type(exc).__name__}: {exc}")
    return bad


def error_line(stderr: str) -> str:
    """The single `error:` line of a failed command (asserts there is exactly one, last)."""
    assert "Traceback" not in stderr, stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error: ")]
    assert len(errors) == 1, f"expected one error line, got: {stderr!r}"
    assert lines[-1] == errors[0], f"the error line is not last: {stderr!r}"
    return errors[0]


def copy_tree(source: Path, target: Path) -> Path:
    shutil.copytree(source, target)
    return target
