"""Checks on the paths a command is given, before it reads or writes anything.

`refuse_overwrite` keeps an output from landing on an input (the user's data would be replaced
by the command's result); `require_file` tells a missing file from a folder, a named pipe or a
symbolic-link loop, each with its own one-line message.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterable
from pathlib import Path

from instructmining.errors import UserError


def __getattr__(name: str) -> object:
    """`WORKSPACE_TABLES`: every table a workspace holds (a command that reads a workspace must
    not write over any), derived from `workspace.FILES` (imported late: workspace imports
    storage, which imports this module)."""
    if name == "WORKSPACE_TABLES":
        from instructmining.workspace import TABLES

        return TABLES
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def workspace_tables(root: str | Path, *, writes: Iterable[str | Path] = ()) -> list[Path]:
    """The tables of workspace `root` a command reads: all of them but the ones it `writes`."""
    from instructmining.workspace import TABLES

    skip = {Path(p).name for p in writes}
    return [Path(root) / name for name in TABLES if name not in skip]


def same_file(a: str | Path, b: str | Path) -> bool:
    """True when `a` and `b` name one file: equal resolved paths, or one inode (hard links)."""
    try:
        if Path(a).resolve() == Path(b).resolve():
            return True
    except (OSError, RuntimeError):  # a symbolic-link loop resolves to nothing
        return False
    try:
        return os.path.samefile(a, b)
    except OSError:  # either does not exist (yet): only the resolved paths could match
        return False


def refuse_overwrite(
    outputs: Iterable[str | Path | None], inputs: Iterable[str | Path | None]
) -> None:
    """Refuse (one line) when any output is the same file as any input the command reads."""
    given = [Path(p) for p in inputs if p is not None]
    for output in (Path(p) for p in outputs if p is not None):
        for source in given:
            if same_file(output, source):
                raise UserError(
                    f"{output}: this output is also an input ({source}); "
                    "write it elsewhere, the input is left unchanged"
                )


def require_file(path: str | Path) -> Path:
    """`path` as a regular file that can be read, or one line saying what it is instead."""
    path = Path(path)
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise UserError(f"{path}: symbolic link loop (the link points back to itself)") from exc
        if exc.errno == errno.ENOENT and os.path.islink(path):
            target = os.readlink(path)
            raise UserError(
                f"{path}: broken symbolic link (to {target}, which does not exist)"
            ) from exc
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):
            raise UserError(f"{path}: no such file") from exc
        raise UserError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    if stat.S_ISDIR(mode):
        raise UserError(f"{path}: is a folder, not a file")
    if stat.S_ISFIFO(mode):
        raise UserError(f"{path}: is a named pipe (FIFO), not a regular file; save it to a file")
    if not stat.S_ISREG(mode):
        raise UserError(f"{path}: not a regular file (a socket or device)")
    return path
