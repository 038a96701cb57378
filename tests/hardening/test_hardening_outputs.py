"""No output may land on an input: for every command taking -o, pointing -o at any of its inputs
(by the same path, a detour through `..`, a symbolic link or a hard link) is refused with one
line, exit code 2, and every input byte-identical afterwards."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from importlib import resources
from pathlib import Path

from hardening_helpers import DATA, error_line, run_cli
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from instructmining.paths import WORKSPACE_TABLES

LIMA = DATA / "lima" / "lima_sample.json"


def _commands(ws: Path, tmp: Path) -> dict[str, tuple[list, list[Path]]]:
    """Each -o command: (its arguments before -o, the inputs it reads)."""
    pool, rule, subsets = ws / "pool.parquet", ws / "rule.json", ws / "subsets.parquet"
    examples = shutil.copyfile(LIMA, tmp / "lima.json")
    config = tmp / "config.yaml"
    config.write_text(
        f"pool: {{files: [{{path: {examples}}}]}}\nexperiments: {{eval: {{path: x}}}}\n"
    )
    tables = [ws / name for name in WORKSPACE_TABLES if (ws / name).exists()]
    demo = resources.files("instructmining.demo") / "demo-quick.yaml"
    return {
        "pool build": (["pool", "build", examples], [examples]),
        "sample": (["sample", pool, "--subsets", 2, "--size", 3], [pool]),
        "select": (
            ["select", pool, "--rule", rule, "--top", 3],
            [pool, rule, ws / "indicators.parquet"],
        ),
        "indicators": (
            ["indicators", pool, "--indicators", "length", "--subsets-file", subsets],
            [pool, subsets],
        ),
        "fit": (["fit", ws], [t for t in tables if t.name != "rule.json"]),
        "report": (["report", ws], tables),
        "run": (["run", config], [config]),
        "demo --quick": (["demo", "--quick"], [Path(str(demo))]),
    }


COMMANDS = [
    "pool build", "sample", "select", "indicators", "fit", "report", "run", "demo --quick"
]  # fmt: skip
SPELLINGS = ["same path", "through ..", "symbolic link", "hard link"]


def _spell(target: Path, how: str, tmp: Path) -> Path:
    if how == "same path":
        return target
    if how == "through ..":
        return target.parent / ".." / target.parent.name / target.name
    link = tmp / f"link-{target.name}"
    if how == "symbolic link":
        link.symlink_to(target)
    else:
        os.link(target, link)
    return link


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.sampled_from(COMMANDS), st.integers(min_value=0, max_value=20), st.sampled_from(SPELLINGS)
)
def test_output_on_an_input_is_refused(workspace_template, command, pick, how):
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        ws = shutil.copytree(workspace_template, tmp / "ws")
        (tmp / "other").mkdir()
        args, inputs = _commands(ws, tmp / "other")[command]
        target = inputs[pick % len(inputs)]
        if how == "hard link" and command == "demo --quick":
            how = "symbolic link"  # the bundled config may sit on another file system
        before = {p: _digest(p) for p in inputs}
        out = _spell(target, how, tmp)
        code, _, err = run_cli([*args, "-o", out])
        assert code == 2, err
        assert "this output is also an input" in error_line(err)
        assert {p: _digest(p) for p in inputs} == before
        assert not list(tmp.rglob("*.tmp"))
        assert out.exists() and (out.resolve() == target.resolve() or os.path.samefile(out, target))
