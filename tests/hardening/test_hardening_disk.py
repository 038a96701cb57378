"""A read-only or full disk: one clear line, exit code 2, nothing half-written, no temp files.

Real file systems where the test may mount them (a 64 KiB tmpfs, a read-only tmpfs); the same
failures injected with monkeypatch everywhere (tests run as root, where chmod does not stop
writes).
"""

from __future__ import annotations

import errno
import os
import subprocess
import uuid

import pyarrow.parquet as pq
import pytest
from hardening_helpers import DATA, error_line, leftovers, run_cli, unreadable

from instructmining import storage

POOL_FILES = [
    DATA / "alpaca/alpaca_5000_sample.json",
    DATA / "dolly/dolly_original_fields_sample.jsonl",
    DATA / "lima/lima_sample.json",
]


def _mount(target, options: str) -> None:
    target.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, f"im-{uuid.uuid4().hex[:8]}", str(target)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip() or done.returncode})")


@pytest.fixture
def mounted(tmp_path):
    """Mount tmpfs folders on request; unmount them after the test."""
    made = []

    def mount(name: str, options: str):
        target = tmp_path / name
        _mount(target, options)
        made.append(target)
        return target

    yield mount
    for target in made:
        subprocess.run(["umount", str(target)], check=False)


def _build(output) -> tuple[int, str]:
    code, _, stderr = run_cli(["pool", "build", *map(str, POOL_FILES), "-o", str(output)])
    return code, stderr


def test_full_disk(mounted):
    disk = mounted("full", "size=64k")
    code, stderr = _build(disk / "ws" / "pool.parquet")
    assert code == 2
    assert "pool.parquet: cannot write:" in error_line(stderr)
    assert "No space left on device" in stderr
    assert not (disk / "ws" / "pool.parquet").exists()
    assert leftovers(disk) == []


def test_read_only_disk(mounted):
    disk = mounted("readonly", "ro,size=64k")
    code, stderr = _build(disk / "pool.parquet")
    assert code == 2
    assert (
        error_line(stderr) == f"error: {disk / 'pool.parquet'}: cannot write: Read-only file system"
    )


def test_read_only_system_folder():
    code, stderr = _build("/sys/pool.parquet")
    assert code == 2 and error_line(stderr).startswith("error: /sys/pool.parquet: cannot write:")


def _fail_replace(code: int):
    def replace(src, dst):
        raise OSError(code, os.strerror(code), str(dst))

    return replace


@pytest.mark.parametrize("code", [errno.EROFS, errno.ENOSPC, errno.EACCES])
def test_final_rename_fails(tmp_path, monkeypatch, code):
    monkeypatch.setattr(storage.os, "replace", _fail_replace(code))
    out = tmp_path / "ws" / "pool.parquet"
    status, stderr = _build(out)
    assert status == 2
    assert error_line(stderr) == f"error: {out}: cannot write: {os.strerror(code)}"
    assert not out.exists() and leftovers(tmp_path) == []


def test_disk_fills_in_the_middle_of_a_table(tmp_path, monkeypatch):
    """Half the bytes reach the temp file, then the disk is full."""
    real = pq.write_table

    def half_then_full(table, where, **kwargs):
        real(table.slice(0, len(table) // 2), where, **kwargs)
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(storage.pq, "write_table", half_then_full)
    out = tmp_path / "ws" / "pool.parquet"
    status, stderr = _build(out)
    assert status == 2 and "cannot write: No space left on device" in error_line(stderr)
    assert not out.exists() and leftovers(tmp_path) == []


def test_disk_full_keeps_the_previous_table(tmp_path, monkeypatch):
    """A rewrite that fails leaves the old, complete table in place."""
    out = tmp_path / "pool.parquet"
    assert _build(out)[0] == 0
    before = out.read_bytes()
    monkeypatch.setattr(storage.os, "replace", _fail_replace(errno.ENOSPC))
    code, _, stderr = run_cli(["pool", "build", str(POOL_FILES[2]), "-o", str(out)])
    assert code == 2 and "No space left on device" in error_line(stderr)
    assert out.read_bytes() == before
    assert leftovers(tmp_path) == [] and unreadable(tmp_path) == []


def test_disk_full_while_writing_json(tmp_path, monkeypatch):
    target = tmp_path / "rule.json"
    monkeypatch.setattr(storage.os, "fsync", _fail_fsync)
    with pytest.raises(storage.UserError, match="rule.json: cannot write: No space left"):
        storage.write_json({"a": 1}, target)
    assert not target.exists() and leftovers(tmp_path) == []


def _fail_fsync(fd):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_read_only_workspace(mounted, tmp_path):
    disk = mounted("readonly_ws", "ro,size=64k")
    code, _, stderr = run_cli(["fit", str(disk)])
    assert code == 2
    assert error_line(stderr) == f"error: {disk}: cannot write: Read-only file system"
