"""The corpus of bad inputs (tests/data/bad/MANIFEST.yaml): every one gives exit code 2, one
`error:` line naming the problem, no traceback and no output file."""

from __future__ import annotations

import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from hardening_helpers import (
    BAD,
    CLI,
    DATA,
    EVAL,
    copy_tree,
    digests,
    error_line,
    leftovers,
    run_cli,
    snapshot,
    unreadable,
)

MANIFEST = yaml.safe_load((BAD / "MANIFEST.yaml").read_text(encoding="utf-8"))


def _param(entry: dict) -> pytest.ParameterSet:
    marks = []
    if "pending" in entry:
        marks.append(pytest.mark.xfail(reason=f"known bug: {entry['pending']}", strict=True))
    return pytest.param(entry, id=entry["id"], marks=marks)


def _args(entry: dict, tmp: Path, ws: Path, big: Path, gen: Path) -> list[str]:
    places = {"bad": BAD, "data": DATA, "tmp": tmp, "ws": ws, "eval": EVAL, "big": big, "gen": gen}
    text = entry["args"]
    for name, path in places.items():
        text = text.replace("{" + name + "}", str(path))
    return shlex.split(text)


def test_manifest_is_well_formed():
    ids = [e["id"] for e in MANIFEST]
    assert len(ids) == len(set(ids)), "repeated ids"
    assert len(MANIFEST) >= 50
    for entry in MANIFEST:
        assert set(entry) <= {"id", "args", "expect", "outputs", "setup", "pending"}, entry
        for source in entry.get("setup", {}).values():
            assert (BAD / source).is_file(), source
        assert entry.get("outputs", "none") in ("none", "stages"), entry
        for token in entry["args"].split():
            if token.startswith("{bad}/"):
                assert (BAD / token.removeprefix("{bad}/")).exists(), token


@pytest.mark.parametrize("entry", [_param(e) for e in MANIFEST])
def test_bad_input_gives_one_line_and_no_output(
    entry, tmp_path, workspace_template, big_line, generated
):
    ws = copy_tree(workspace_template, tmp_path / "ws")
    for name, source in entry.get("setup", {}).items():
        shutil.copyfile(BAD / source, ws / name)
    out = tmp_path / "out"
    out.mkdir()
    before, corpus_before = snapshot(tmp_path), snapshot(BAD)
    contents = digests(tmp_path, BAD, generated)

    code, _, stderr = run_cli(_args(entry, out, ws, big_line, generated))

    assert code == 2, stderr
    assert entry["expect"] in error_line(stderr)
    assert snapshot(BAD) == corpus_before, "the command wrote into the corpus"
    changed = {k for k, v in digests(tmp_path, BAD, generated).items() if contents.get(k) != v}
    assert not changed & set(contents), f"inputs changed: {sorted(changed & set(contents))}"
    assert leftovers(tmp_path) == []
    if entry.get("outputs", "none") == "none":
        # An indicator cache opened before the failure is not an output (sqlite, transactional).
        after = {k: v for k, v in snapshot(tmp_path).items() if "cache" not in Path(k).parts}
        assert after == before
    else:
        assert unreadable(tmp_path) == []


# A few through the installed console script, for the real exit code and stderr of a process.
SUBPROCESS = [
    "truncated-array",
    "deeply-nested-array",
    "sample-negative-seed",
    "unknown-command",
    "rule-gbm-cycle",
    "rule-nested-100k-deep",
]


@pytest.mark.parametrize("name", SUBPROCESS)
def test_console_script_exit_code(name, tmp_path, workspace_template, big_line, generated):
    entry = next(e for e in MANIFEST if e["id"] == name)
    ws = copy_tree(workspace_template, tmp_path / "ws")
    args = _args(entry, tmp_path, ws, big_line, generated)
    done = subprocess.run([str(CLI), *args], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert entry["expect"] in error_line(done.stderr)
    assert done.stdout == ""


def test_console_script_bad_config(tmp_path):
    done = subprocess.run(
        [str(CLI), "run", str(BAD / "config" / "unknown_key.yaml"), "-o", str(tmp_path / "w")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert error_line(done.stderr).endswith("unknown_key.yaml: unknown key 'bogus'")
    assert not (tmp_path / "w").exists()
