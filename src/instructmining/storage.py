"""Atomic file output: a reader never sees a half-written table, and a crash leaves no partial file.

Every stage writes through these helpers: write to a temporary file in the destination folder,
fsync, then `os.replace` onto the final name (atomic on POSIX within one file system).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from instructmining.errors import UserError
from instructmining.paths import require_file

# Temporary files are `.NAME.PID.RANDOM.instructmining.tmp`: a name no other program makes, so
# clean-up can never take a user's own `.something.tmp` for one of ours.
TEMP_SUFFIX = ".instructmining.tmp"


def temp_file_pid(path: Path) -> str | None:
    """The writer's process id in one of our temp file names, None for any other file."""
    name = path.name
    if not (name.startswith(".") and name.endswith(TEMP_SUFFIX)):
        return None
    parts = name.removesuffix(TEMP_SUFFIX).rsplit(".", 2)
    return parts[1] if len(parts) == 3 and parts[1].isdigit() else None


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success it replaces `path`, on error it is gone."""
    path = Path(path)
    if path.is_dir():
        raise UserError(f"{path}: is a folder; give the name of a file to write")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        prefix = f".{path.name}.{os.getpid()}."  # the pid tells a killed writer's leftovers
        fd, tmp_name = tempfile.mkstemp(prefix=prefix, suffix=TEMP_SUFFIX, dir=path.parent)
    except OSError as exc:
        raise UserError(f"{path}: cannot write: {exc.strerror or exc}") from exc
    os.close(fd)
    tmp = Path(tmp_name)
    # mkstemp creates 0600; give the final file the permissions a plain open() would.
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    try:
        yield tmp
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise UserError(f"{path}: cannot write: {exc.strerror or exc}") from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def atomic_open(path: str | Path, mode: str = "w", encoding: str | None = "utf-8") -> Iterator[IO]:
    """Open a temporary file that atomically becomes `path` when the block ends without error."""
    with atomic_path(path) as tmp:
        kwargs: dict[str, Any] = {} if "b" in mode else {"encoding": encoding}
        with open(tmp, mode, **kwargs) as fh:
            yield fh


def write_parquet(df: pd.DataFrame | pa.Table, path: str | Path) -> None:
    """Write a table atomically as Parquet."""
    table = df if isinstance(df, pa.Table) else pa.Table.from_pandas(df, preserve_index=False)
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp)


def finite_json(value: Any) -> Any:
    """`value` with every NaN or infinite float, however deeply nested, replaced by None: strict
    JSON has no NaN or Infinity, and `jq`, JavaScript and most parsers reject them."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: finite_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite_json(v) for v in value]
    return value


def write_json(obj: Any, path: str | Path) -> None:
    """Write strict JSON atomically (non-finite numbers as null), pretty-printed and with a
    trailing newline."""
    with atomic_open(path) as fh:
        json.dump(
            finite_json(obj), fh, indent=2, sort_keys=False, ensure_ascii=False, allow_nan=False
        )
        fh.write("\n")


def missing_file_error(path: Path) -> UserError:
    """`PATH: no such file`, with the command that makes it when it is a workspace table."""
    from instructmining.workspace import FILES  # workspace imports this module

    made_by = next((f.written_by for f in FILES.values() if f.name == path.name), None)
    return UserError(f"{path}: no such file" + (f" (made by `{made_by}`)" if made_by else ""))


def read_parquet(path: str | Path, required: list[str] | tuple[str, ...] = ()) -> pd.DataFrame:
    """Read a Parquet table; one line when it is missing, unreadable or lacks columns."""
    path = Path(path)
    if not path.exists() and not path.is_symlink():
        raise missing_file_error(path)
    path = require_file(path)
    try:
        df = pq.read_table(path).to_pandas()
    except (pa.ArrowException, OSError) as exc:
        raise UserError(f"{path}: not a readable Parquet file ({exc})") from exc
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise UserError(f"{path}: missing column(s) {', '.join(missing)}")
    return df
