"""Read input files into records that remember their line.

JSON arrays, JSON Lines, Parquet and Stack Exchange dump XML, each plain or gzipped. A JSON
array is walked element by element with `raw_decode` so every element knows the line it starts
on; for Parquet the line is the row number, for XML the line of the `<row>` element.
"""

from __future__ import annotations

import bisect
import gzip
import io
import json
import os
import re
import xml.etree.ElementTree as ET
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from instructmining.data.problems import Problems
from instructmining.errors import UserError, param
from instructmining.paths import require_file

_JSON_WS = " \t\n\r"
_BOM = "\ufeff"


@dataclass(frozen=True, slots=True)
class Record:
    """One record of a file; `number` is its 1-based position when it came from a JSON array."""

    line: int
    value: Any
    number: int | None = None

    def where(self) -> str:
        """A prefix naming the array element, needed when many elements share one line."""
        return "" if self.number is None else f"record {self.number}: "


@dataclass
class InputFile:
    """A file and its records."""

    path: Path
    records: list[Record] = field(default_factory=list)
    source: str | None = None  # the default source name when the file is part of a dataset

    @property
    def stem(self) -> str:
        """The name without `.gz` and the format suffix: the default source name."""
        if self.source:
            return self.source
        name = self.path.name
        if name.endswith(".gz"):
            name = name[:-3]
        return Path(name).stem


_MIB = 1024 * 1024


@dataclass(frozen=True)
class ReadLimits:
    """Bounds on what one input may expand to, so a gzip bomb or a runaway line fails with a
    message naming the limit instead of exhausting memory. Both are in MiB of decompressed data."""

    max_file_mb: int = 2048
    max_record_mb: int = 64

    def __post_init__(self) -> None:
        for name in ("max_file_mb", "max_record_mb"):
            if getattr(self, name) < 1:
                raise UserError(f"--{name.replace('_', '-')} must be at least 1")


def read_inputs(
    path: str | Path, problems: Problems, limits: ReadLimits | None = None
) -> list[InputFile]:
    """The files behind one input: a file, a Hugging Face dataset folder (saved or sharded) or
    an `hf://datasets/...` id; a dataset's files share its name as their source."""
    from instructmining.data import hf

    if hf.hub_spec(path) is not None:
        repo = hf.hub_spec(path)[0]
        rows = hf.hub_rows(str(path))
        return [InputFile(Path(path), _row_records(rows), source=repo.rsplit("/", 1)[-1])]
    path = Path(path)
    if not path.is_dir():
        return [read_file(path, problems, limits)]
    if hf.is_saved_dataset(path):
        return [InputFile(path, _row_records(hf.saved_rows(path)), source=path.name)]
    files = [read_file(shard, problems, limits) for shard in hf.shard_files(path)]
    for file in files:
        file.source = path.name
    return files


def _row_records(rows: list[dict[str, Any]]) -> list[Record]:
    """Dataset rows as records; the 1-based row number stands for the line."""
    return [Record(number, row) for number, row in enumerate(rows, start=1)]


def read_file(path: str | Path, problems: Problems, limits: ReadLimits | None = None) -> InputFile:
    """Read every record of `path`; malformed parts go to `problems` (which may raise)."""
    path = require_file(path)
    limits = limits or ReadLimits()
    data = _read_bytes(path, limits.max_file_mb)
    reader = _READERS[_layout(path, data)]
    records = reader(path, data, problems)
    return InputFile(path, list(_bounded(records, path, problems, limits.max_record_mb)))


def _read_bytes(path: Path, max_mb: int) -> bytes:
    """The file's bytes, decompressed as a stream when gzipped, never more than `max_mb`."""
    limit = max_mb * _MIB
    too_big = f"{path}: larger than the {param('max_file_mb')} limit of {max_mb} MiB (decompressed)"
    try:
        with open(path, "rb") as fh:
            gzipped = fh.read(2) == b"\x1f\x8b"
            fh.seek(0)
            if not gzipped:
                if os.fstat(fh.fileno()).st_size > limit:
                    raise UserError(too_big)
                return fh.read()
            out = bytearray()
            with gzip.GzipFile(fileobj=fh) as stream:
                while chunk := stream.read(_MIB):
                    out += chunk
                    if len(out) > limit:
                        raise UserError(too_big)
            return bytes(out)
    except EOFError as exc:
        raise UserError(f"{path}: truncated gzip file") from exc
    except (gzip.BadGzipFile, zlib.error) as exc:
        raise UserError(f"{path}: corrupt gzip file ({exc})") from exc
    except OSError as exc:
        raise UserError(f"{path}: cannot read: {exc.strerror or exc}") from exc


def _bounded(
    records: Iterator[Record], path: Path, problems: Problems, max_mb: int
) -> Iterator[Record]:
    """Records whose text is within `max_mb`; a larger one is a problem naming the limit."""
    limit = max_mb * _MIB
    for record in records:
        if isinstance(record.value, dict) and _text_size(record.value) > limit:
            message = (
                f"{record.where()}record larger than the {param('max_record_mb')} limit of "
                f"{max_mb} MiB"
            )
            problems.report(path, record.line, "record too large", message)
            continue
        yield record


def _text_size(value: Any) -> int:
    """Characters of every string in a record (the part that can be large)."""
    size, stack = 0, [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            size += len(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return size


def _layout(path: Path, data: bytes) -> str:
    """Pick the reader from the suffix, falling back to the first bytes."""
    suffixes = [s.lower() for s in path.suffixes if s.lower() != ".gz"]
    suffix = suffixes[-1] if suffixes else ""
    if data[:4] == b"PAR1" or suffix == ".parquet":
        return "parquet"
    head = data[:64].lstrip(b"\xef\xbb\xbf" + _JSON_WS.encode())
    if suffix == ".xml" or head[:1] == b"<":
        return "xml"
    return "json" if head[:1] == b"[" else "jsonl"


def _read_jsonl(path: Path, data: bytes, problems: Problems) -> Iterator[Record]:
    for number, raw in enumerate(data.split(b"\n"), start=1):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            message = f"invalid UTF-8 (byte 0x{raw[exc.start]:02x})"
            problems.report(path, number, "invalid UTF-8", message)
            continue
        text = text.lstrip(_BOM) if number == 1 else text
        if not text.strip():
            continue
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            problems.report(path, number, "malformed JSON", f"malformed JSON ({exc.msg})")
            continue
        except RecursionError:
            problems.report(path, number, "malformed JSON", _TOO_DEEP)
            continue
        surrogate = lone_surrogate(value)
        if surrogate is not None:
            problems.report(path, number, "invalid Unicode", surrogate)
            continue
        yield Record(number, value)


def _read_json_array(path: Path, data: bytes, problems: Problems) -> Iterator[Record]:
    # surrogateescape keeps one character per undecodable byte, so a bad byte is found again
    # inside the element that holds it and only that element is skipped.
    text = data.decode("utf-8", errors="surrogateescape").lstrip(_BOM)
    lines = _LineCounter(text)
    bad = [m.start() for m in _BAD_BYTE.finditer(text)]
    if bad and problems.on_error == "fail":
        problems.report(path, lines.line_of(bad[0]), "invalid UTF-8", _utf8_message(text, bad[0]))
    decoder = json.JSONDecoder()
    end = len(text.rstrip(_JSON_WS))
    pos = _skip_ws(text, 0) + 1  # past the '['
    number = 0
    while True:
        pos = _skip_ws(text, pos)
        if number == 0 and text.startswith("]", pos):
            pos += 1
            break
        if pos >= end:
            problems.report(path, lines.line_of(end), "truncated JSON array", _TRUNCATED)
            return
        number += 1
        try:
            value, stop = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            if exc.pos >= end or exc.msg.startswith("Unterminated string"):
                message = f"truncated JSON array (record {number} is cut off)"
                problems.report(path, lines.line_of(pos), "truncated JSON array", message)
            else:
                message = f"record {number}: malformed JSON ({exc.msg}); rest of the array unread"
                problems.report(path, lines.line_of(exc.pos), "malformed JSON", message)
            return
        except RecursionError:
            message = f"record {number}: {_TOO_DEEP}; rest of the array unread"
            problems.report(path, lines.line_of(pos), "malformed JSON", message)
            return
        first_bad = bisect.bisect_left(bad, pos)
        if first_bad < len(bad) and bad[first_bad] < stop:
            where = bad[first_bad]
            message = f"record {number}: {_utf8_message(text, where)}"
            problems.report(path, lines.line_of(where), "invalid UTF-8", message)
        elif (surrogate := lone_surrogate(value)) is not None:
            problems.report(
                path, lines.line_of(pos), "invalid Unicode", f"record {number}: {surrogate}"
            )
        else:
            yield Record(lines.line_of(pos), value, number)
        pos = _skip_ws(text, stop)
        if text.startswith(",", pos):
            pos += 1
        elif text.startswith("]", pos):
            pos += 1
            break
        elif pos >= end:
            problems.report(path, lines.line_of(end), "truncated JSON array", _TRUNCATED)
            return
        else:
            message = (
                f"record {number}: malformed JSON (expected ',' or ']'); rest of the array unread"
            )
            problems.report(path, lines.line_of(pos), "malformed JSON", message)
            return
    if _skip_ws(text, pos) < len(text):
        message = "malformed JSON (data after the closing ']')"
        problems.report(path, lines.line_of(pos), "malformed JSON", message)


def lone_surrogate(value: Any) -> str | None:
    """A message when a string in `value` holds a lone surrogate (JSON's `"\\ud800"` escape):
    valid JSON, but no Unicode text, so it could be neither hashed nor written as UTF-8."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            found = _SURROGATE.search(item)
            if found:
                return f"lone surrogate \\u{ord(found.group()):04x} in a string (not valid Unicode)"
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return None


_SURROGATE = re.compile("[\ud800-\udfff]")
_TRUNCATED = "truncated JSON array (no closing ']')"
_TOO_DEEP = "malformed JSON (nested too deeply)"
_BAD_BYTE = re.compile("[\udc80-\udcff]")


class _LineCounter:
    """Line numbers of increasing offsets, counted incrementally (no index of the whole text)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.line = 1

    def line_of(self, pos: int) -> int:
        if pos < self.pos:
            self.pos, self.line = 0, 1
        self.line += self.text.count("\n", self.pos, pos)
        self.pos = pos
        return self.line


def _skip_ws(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in _JSON_WS:
        pos += 1
    return pos


def _utf8_message(text: str, pos: int) -> str:
    return f"invalid UTF-8 (byte 0x{ord(text[pos]) - 0xDC00:02x})"


def _read_parquet(path: Path, data: bytes, problems: Problems) -> Iterator[Record]:
    try:
        rows = pq.read_table(io.BytesIO(data)).to_pylist()
    except (pa.ArrowException, OSError) as exc:
        raise UserError(f"{path}: not a readable Parquet file ({exc})") from exc
    for number, row in enumerate(rows, start=1):
        yield Record(number, row)


def _read_xml_rows(path: Path, data: bytes, problems: Problems) -> Iterator[Record]:
    """Attributes of each `<row>` under the root, as in Stack Exchange dumps.

    The pull parser is fed one line at a time, so each row is tied to the line it ends on (one
    row per line in the dumps).
    """
    parser = ET.XMLPullParser(events=("start", "end"))
    depth = 0
    for number, raw in enumerate(data.splitlines(keepends=True), start=1):
        try:
            parser.feed(raw)
            events = list(parser.read_events())
        except ET.ParseError as exc:
            message = f"malformed XML ({exc}); rest of the file unread"
            problems.report(path, exc.position[0], "malformed XML", message)
            return
        for event, element in events:
            depth += 1 if event == "start" else -1
            if event == "end" and depth == 1 and element.tag == "row":
                yield Record(number, dict(element.attrib))
                element.clear()
    try:
        parser.close()
    except ET.ParseError as exc:
        problems.report(path, exc.position[0], "malformed XML", f"malformed XML ({exc})")


_READERS = {
    "jsonl": _read_jsonl,
    "json": _read_json_array,
    "parquet": _read_parquet,
    "xml": _read_xml_rows,
}
