"""Read instruction files into the pool table: detect, convert, normalise, validate, deduplicate.

Everything is read and checked in memory before anything is written, so bad input in fail mode
never leaves a partial pool behind.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from instructmining.data.example import (
    MESSAGES,
    POOL_COLUMNS,
    STORED_COLUMNS,
    Example,
    valid_messages,
)
from instructmining.data.formats import Format, Located, detect_format, get_format
from instructmining.data.problems import Problems
from instructmining.data.readers import InputFile, ReadLimits, read_inputs
from instructmining.errors import InputError, UserError, param
from instructmining.storage import read_parquet, write_parquet

PathLike = str | Path


@dataclass
class PoolBuild:
    """The pool plus what was left out: problem counts by kind (skip mode), unusable examples
    (empty instruction or response) and exact duplicates."""

    pool: pd.DataFrame
    problems: dict[str, int] = field(default_factory=dict)
    duplicates: int = 0
    dropped: dict[str, int] = field(default_factory=dict)
    formats: dict[str, str] = field(default_factory=dict)  # file -> format name
    trimmed: int = 0  # conversations kept whole without their unanswered last user turn
    detected: bool = False  # whether the formats were auto-detected


def build_pool(
    paths: PathLike | Sequence[PathLike],
    format: str = "auto",
    source: str | None = None,
    on_error: str = "fail",
    all_turns: bool = False,
    on_format: Callable[[Path, str], None] | None = None,
    limits: ReadLimits | None = None,
    drop_empty: bool = True,
    error_hint: str = "",
) -> PoolBuild:
    """Read `paths` into one deduplicated pool (POOL_COLUMNS); raises InputError on bad input.

    `source` names every example's source (default: the stem of the file its response came
    from). With `on_error="skip"` bad records are skipped and counted instead. `on_format` is
    told each file's format as soon as it is known, so a later error can be read against it.
    `limits` bounds the decompressed size of each file and each record (`ReadLimits`).
    An empty or whitespace-only instruction or response is an unusable example, not a malformed
    file: it is dropped and counted in `dropped` (with `drop_empty=False`, as evaluation sets
    want, it is an error at its record). `error_hint` ends a fail-mode message (the CLI names
    its `--on-error skip` there).
    """
    paths = [paths] if isinstance(paths, str | Path) else list(paths)
    if not paths:
        raise UserError("no input files")
    problems = Problems(on_error, hint=error_hint)
    dropped: Counter[str] = Counter()
    chosen = None if format == "auto" else get_format(format)
    files = [file for p in paths for file in read_inputs(p, problems, limits)]
    groups = _groups(files, chosen, on_format)
    examples: dict[str, Example] = {}
    duplicates = trimmed = 0
    for fmt, members in groups:
        for located in fmt.convert(members, problems, all_turns):
            example, unusable = _example(located, source, drop_empty)
            trimmed += located.draft.trimmed
            if unusable:
                dropped[unusable] += 1
                continue
            if example.id in examples:
                duplicates += 1
            else:
                examples[example.id] = example
    if not examples:
        left = sum(problems.counts.values()) + sum(dropped.values())
        skipped = f" ({left} records skipped or empty)" if left else ""
        raise UserError(f"no examples in {', '.join(map(str, paths))}{skipped}")
    pool = pd.DataFrame(
        [[getattr(e, c) for c in STORED_COLUMNS] for e in examples.values()],
        columns=STORED_COLUMNS,
    )
    return PoolBuild(
        pool=pool,
        problems=dict(problems.counts),
        duplicates=duplicates,
        dropped=dict(dropped),
        formats={str(f.path): fmt.name for fmt, members in groups for f in members},
        detected=chosen is None,
        trimmed=trimmed,
    )


def cap_per_source(pool: pd.DataFrame, per_source: int | None, seed: int = 0) -> pd.DataFrame:
    """A seeded sample of at most `per_source` examples of each source, by id (machine-stable)."""
    if per_source is None:
        return pool
    if per_source < 1:
        raise UserError(f"{param('per_source')} must be at least 1 (got {per_source})")
    rng = np.random.default_rng(seed)
    kept = []
    for _, group in pool.sort_values("id").groupby("source", sort=True):
        take = min(per_source, len(group))
        kept.append(group.iloc[np.sort(rng.choice(len(group), size=take, replace=False))])
    return pd.concat(kept, ignore_index=True)


def build_summary(build: PoolBuild) -> list[str]:
    """What a build left out, one line each: bad records, unusable examples, duplicates."""
    lines = []
    for what, counts in (("skipped", build.problems), ("dropped", build.dropped)):
        if counts:
            kinds = ", ".join(f"{kind} {n}" for kind, n in sorted(counts.items()))
            noun = "bad records" if what == "skipped" else "unusable examples"
            lines.append(f"{what} {sum(counts.values())} {noun}: {kinds}")
    if build.trimmed:
        lines.append(
            f"trimmed {build.trimmed} conversations ending in a user turn that nothing answers "
            "(kept up to their last answer)"
        )
    lines.append(f"dropped {build.duplicates} exact duplicates")
    return lines


def read_examples(
    path: PathLike | Sequence[PathLike],
    format: str = "auto",
    source: str | None = None,
    on_error: str = "fail",
    all_turns: bool = False,
    drop_empty: bool = True,
) -> pd.DataFrame:
    """Examples of one data set (an evaluation set, say) as a POOL_COLUMNS table, unique by id.

    MT-Bench needs its question file and an answer file: pass both as a list. An evaluation set
    passes `drop_empty=False`: a reference answer that is empty is an error there.
    """
    return build_pool(path, format, source, on_error, all_turns, drop_empty=drop_empty).pool


def _groups(
    files: list[InputFile],
    chosen: Format | None,
    on_format: Callable[[Path, str], None] | None,
) -> list[tuple[Format, list[InputFile]]]:
    """Files by format, in input order; formats that join files get all of theirs in one group."""
    groups: list[tuple[Format, list[InputFile]]] = []
    joined: dict[str, list[InputFile]] = {}
    for file in files:
        fmt = chosen or detect_format(file)
        if on_format is not None:
            on_format(file.path, fmt.name)
        if not fmt.joins_files:
            groups.append((fmt, [file]))
        elif fmt.name in joined:
            joined[fmt.name].append(file)
        else:
            joined[fmt.name] = [file]
            groups.append((fmt, joined[fmt.name]))
    return groups


def _example(located: Located, source: str | None, drop_empty: bool) -> tuple[Example, str]:
    """Normalise a draft; returns it with the reason it is unusable ("" when it is usable)."""
    draft, record = located.draft, located.record
    example = Example.create(
        source=source or draft.source or located.file.stem,
        instruction=draft.instruction,
        input=draft.input,
        output=draft.output,
        system=draft.system,
        messages=draft.messages,
    )
    for value, kind in (
        (example.instruction, "empty instruction"),
        (example.output, "empty response"),
    ):
        if not value and drop_empty:
            return example, kind
        if not value:
            raise InputError(located.file.path, record.line, record.where() + kind)
    return example, ""


def write_pool(pool: pd.DataFrame, path: PathLike) -> None:
    """Write a pool table atomically with plain string columns, in STORED_COLUMNS order (a
    table without conversations gets an empty `messages` column)."""
    schema = pa.schema([(c, pa.string()) for c in STORED_COLUMNS])
    pool = with_messages(pool)
    write_parquet(
        pa.Table.from_pandas(pool[STORED_COLUMNS], schema=schema, preserve_index=False), path
    )


def with_messages(pool: pd.DataFrame) -> pd.DataFrame:
    """`pool` with a `messages` column: pools written before conversations were kept (and
    tables made by hand) have none, and every row of those is a single exchange."""
    return pool if MESSAGES in pool.columns else pool.assign(**{MESSAGES: ""})


def read_pool(path: PathLike, required: Sequence[str] = POOL_COLUMNS) -> pd.DataFrame:
    """Read a pool table, checking that its `required` columns hold text, so a foreign table
    fails with one line instead of deep inside a stage; `messages` is added where absent."""
    pool = with_messages(read_parquet(path, required=list(required)))
    for column in required:
        values = pool[column]
        if not (pd.api.types.is_string_dtype(values) or values.isna().all()):
            raise UserError(f"{path}: column {column!r} should hold text, not {values.dtype}")
    bad = ~pool[MESSAGES].map(valid_messages).astype(bool)
    if bad.any():
        raise UserError(
            f"{path}: row {int(bad.to_numpy().argmax()) + 1}: column 'messages' should be empty "
            "or JSON text of [{role, content}, ...]"
        )
    return pool


def pool_from_file(path: PathLike) -> tuple[pd.DataFrame, list[str]]:
    """A pool table (checked to hold the pool's columns), or any input `pool build` accepts
    built into one; with what a build left out (`build_summary`), for the caller to show.

    `select` and `overlap` take either, so a user can try a rule on a file without building a
    workspace first."""
    path = Path(path)
    if path.suffix == ".parquet" and path.is_file():
        return read_pool(path, required=POOL_COLUMNS), []
    built = build_pool(path)
    return built.pool, build_summary(built)


def pool_hash(path: Path) -> str:
    """The identity of a pool table's examples: a hash of its sorted ids (ids hash each
    example's text), the same however the table was rewritten."""
    from instructmining.hashing import hash_object

    ids = read_parquet(path, required=["id"])["id"].astype(str)
    return hash_object(sorted(ids))
