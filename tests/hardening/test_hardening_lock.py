"""One writer per workspace: while another process holds a workspace, every command that
writes it refuses with one line and exit code 2; a killed holder leaves no stale lock."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time

import pytest
from hardening_helpers import CLI, DATA, EVAL, copy_tree, error_line, run_cli, snapshot

REFUSAL = "another instructmining process is writing this workspace"

HOLD = """
import sys, time
from pathlib import Path
from instructmining.workspace import Workspace
with Workspace(Path(sys.argv[1])).lock():
    print("locked", flush=True)
    time.sleep(600)
"""


@pytest.fixture
def held(tmp_path, workspace_template):
    """A workspace whose lock another process holds until the test ends (or kills it)."""
    ws = copy_tree(workspace_template, tmp_path / "ws")
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(ws)], stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout.readline().strip() == "locked"
    yield ws, holder
    holder.kill()
    holder.wait()


def _config(tmp_path) -> str:
    path = tmp_path / "run.yaml"
    path.write_text(
        f"pool: {{files: [{{path: {EVAL}}}]}}\nexperiments: {{eval: {{path: {EVAL}}}}}\n"
    )
    return str(path)


WRITERS = {
    "experiment": lambda ws, tmp: ["experiment", ws, "--eval", EVAL],
    "fit": lambda ws, tmp: ["fit", ws],
    "search": lambda ws, tmp: ["search", ws, "--rule", ws / "rule.json", "--min", "1", "--max",
                               "5", "--trials", "1", "--eval", EVAL],
    "compare": lambda ws, tmp: ["compare", ws, "--rule", ws / "rule.json", "--n", "3",
                                "--seeds", "2", "--eval", EVAL],
    "run": lambda ws, tmp: ["run", _config(tmp), "-o", ws],
}  # fmt: skip


@pytest.mark.parametrize("command", sorted(WRITERS))
def test_second_writer_refuses(held, tmp_path, command):
    ws, _ = held
    before = sorted(p.name for p in ws.iterdir())
    code, _, stderr = run_cli(WRITERS[command](ws, tmp_path))
    assert code == 2
    line = error_line(stderr)
    assert REFUSAL in line and str(ws) in line
    assert sorted(p.name for p in ws.iterdir()) == before


def test_refusal_from_the_console_script(held):
    ws, _ = held
    done = subprocess.run([str(CLI), "fit", str(ws)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert REFUSAL in error_line(done.stderr)


def test_killed_holder_releases_the_workspace(held):
    ws, holder = held
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    code, _, stderr = run_cli(["fit", ws])
    assert code == 2 and REFUSAL not in stderr  # gets past the lock to the missing runs table
    assert "runs.parquet: no such file" in error_line(stderr)


def test_waiting_writer_gets_the_lock_when_the_holder_ends(tmp_path):
    from instructmining.workspace import Workspace

    ws = tmp_path / "ws"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD.replace("600", "1"), str(ws)], stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout.readline().strip() == "locked"
    started = time.monotonic()
    with Workspace(ws).lock(wait_seconds=60):
        waited = time.monotonic() - started
    assert holder.wait(timeout=60) == 0
    assert waited > 0.5  # it waited for the holder's second of work


WRITE_AND_HANG = """
import sys, time
from instructmining.storage import atomic_open
with atomic_open(sys.argv[1]) as fh:
    fh.write("half a table")
    fh.flush()
    print("writing", flush=True)
    time.sleep(600)
"""


def test_next_writer_sweeps_a_killed_writers_temp_file(tmp_path):
    from instructmining.workspace import Workspace

    ws = tmp_path / "ws"
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITE_AND_HANG, str(ws / "runs.parquet")],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert writer.stdout.readline().strip() == "writing"
    live = sorted(ws.glob(".runs.parquet.*.instructmining.tmp"))
    assert len(live) == 1
    with Workspace(ws).lock():
        assert live[0].exists()  # its writer is alive: not touched
    writer.send_signal(signal.SIGKILL)
    writer.wait()
    assert live[0].exists()  # SIGKILL leaves the temp file behind ...
    with Workspace(ws).lock():
        pass
    assert not live[0].exists()  # ... and the next writer of the workspace removes it
    assert not (ws / "runs.parquet").exists()


@pytest.mark.parametrize(
    "args",
    [
        ["pool", "build", DATA / "alpaca/alpaca_5000_sample.json", "-o", "{ws}/pool2.parquet"],
        ["sample", "{ws}/pool.parquet", "-o", "{ws}/s.parquet", "--subsets", "2", "--size", "3"],
        ["select", "{ws}/pool.parquet", "--rule", "{ws}/rule.json", "--top", "3"]
        + ["-o", "{ws}/x.jsonl"],
        ["report", "{ws}"],
    ],
    ids=["pool build", "sample", "select", "report"],
)
def test_every_writer_refuses_a_locked_folder(held, args) -> None:
    """Pool build, sample, select and report take the lock of the folder they write too."""
    ws, _ = held
    before = snapshot(ws)
    code, _, err = run_cli([str(a).replace("{ws}", str(ws)) for a in args])
    assert code == 2 and REFUSAL in error_line(err)
    assert snapshot(ws) == before


def test_clean_up_leaves_the_users_temp_files_alone(tmp_path):
    """Only the project's own temp names, only in the folders it writes, and never deeper."""
    from instructmining.storage import TEMP_SUFFIX
    from instructmining.workspace import Workspace

    ws = tmp_path / "proj"
    theirs = [
        ws / ".notes.tmp",
        ws / ".draft.12345.abc.tmp",  # the old, too general pattern
        ws / "data" / f".pool.parquet.999999.x{TEMP_SUFFIX}",  # ours by name, not our folder
        ws / "data" / "deep" / ".a.1.b.tmp",
    ]
    stale = ws / f".runs.parquet.999999.abc{TEMP_SUFFIX}"  # ours, in the workspace, pid gone
    stale_record = ws / "runs" / "cfg-eval" / f".s000.seed0.json.999999.x{TEMP_SUFFIX}"
    for path in [*theirs, stale, stale_record]:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("keep me")
    with Workspace(ws).lock():
        pass
    assert all(p.read_text() == "keep me" for p in theirs)
    assert not stale.exists() and not stale_record.exists()


def test_indicators_output_beside_a_users_temp_files_keeps_them(tmp_path, workspace_template):
    """The reported case: `indicators proj/pool.parquet -o proj/ind.parquet` deleted every
    `.*.tmp` under proj/ at any depth."""
    proj = tmp_path / "proj"
    proj.mkdir()
    shutil.copyfile(workspace_template / "pool.parquet", proj / "pool.parquet")
    mine = [proj / ".session.tmp", proj / "sub" / ".x.1.y.tmp"]
    for path in mine:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("mine")
    code, _, err = run_cli(
        ["indicators", proj / "pool.parquet", "-o", proj / "ind.parquet", "--indicators", "length"]
    )
    assert code == 0, err
    assert all(p.read_text() == "mine" for p in mine)
