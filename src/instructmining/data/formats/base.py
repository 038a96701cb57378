"""What a format is: detect its records, turn them into drafts of examples.

Most formats map one record to one or more examples and subclass `RecordFormat`, implementing
only `to_drafts`. Formats that need the whole file (oasst message rows, Stack Exchange posts)
or several files (MT-Bench questions + answers) override `convert`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from instructmining.data.problems import Problems, RecordProblem
from instructmining.data.readers import InputFile, Record


@dataclass(frozen=True, slots=True)
class Draft:
    """An example as a format read it, before normalisation and validation."""

    instruction: str
    output: str
    input: str = ""
    system: str = ""
    source: str | None = None  # only set by formats that carry a source per record
    # The whole conversation, (role, content) per turn, when it is kept whole (--all-turns)
    messages: tuple[tuple[str, str], ...] = ()
    trimmed: bool = False  # an unanswered last user turn was left out of `messages`


@dataclass(frozen=True, slots=True)
class Located:
    """A draft with the file and record it came from, for problem messages and source names."""

    file: InputFile
    record: Record
    draft: Draft


class Format:
    """A data format: `detect` recognises one of its records, `convert` yields located drafts."""

    name: ClassVar[str]
    summary: ClassVar[str]
    # Auto-detection tries formats in increasing rank, so specific shapes win over general ones
    # (LIMA's instruction/output/history before plain alpaca instruction/output).
    detect_rank: ClassVar[int] = 100
    # Formats that join several files (MT-Bench) receive all their files in one `convert` call.
    joins_files: ClassVar[bool] = False

    def detect(self, record: Any) -> bool:
        raise NotImplementedError

    def convert(
        self, files: list[InputFile], problems: Problems, all_turns: bool
    ) -> Iterator[Located]:
        raise NotImplementedError


class RecordFormat(Format):
    """A format whose every record stands alone and yields at least one example."""

    def to_drafts(self, record: Mapping[str, Any], all_turns: bool) -> list[Draft]:
        raise NotImplementedError

    def convert(
        self, files: list[InputFile], problems: Problems, all_turns: bool
    ) -> Iterator[Located]:
        for file in files:
            for record in file.records:
                try:
                    drafts = self.to_drafts(as_object(record.value), all_turns)
                except RecordProblem as exc:
                    problems.report(file.path, record.line, exc.kind, record.where() + exc.message)
                    continue
                for draft in drafts:
                    yield Located(file, record, draft)


def as_object(value: Any, what: str = "record") -> Mapping[str, Any]:
    """The record as a mapping, or a `wrong type` problem."""
    if not isinstance(value, Mapping):
        raise RecordProblem("wrong type", f"{what} should be a JSON object, not {json_type(value)}")
    return value


def text(record: Mapping[str, Any], name: str, required: bool = True, label: str = "") -> str:
    """A string field; null or absent is '' when optional and a `missing field` when required.

    `label` names the field in messages when it sits inside a list (`instances[0].output`).
    """
    label = label or name
    value = record.get(name)
    if value is None:
        if required:
            raise RecordProblem("missing field", f"missing field '{label}'")
        return ""
    if not isinstance(value, str):
        raise RecordProblem(
            "wrong type", f"field '{label}' should be a string, not {json_type(value)}"
        )
    return value


def items(record: Mapping[str, Any], name: str, label: str = "") -> list[Any]:
    """A required, non-empty list field."""
    label = label or name
    value = record.get(name)
    if value is None:
        raise RecordProblem("missing field", f"missing field '{label}'")
    if not isinstance(value, list):
        raise RecordProblem(
            "wrong type", f"field '{label}' should be a list, not {json_type(value)}"
        )
    if not value:
        raise RecordProblem("missing field", f"field '{label}' is empty")
    return value


def json_type(value: Any) -> str:
    """JSON's name for a Python value's type, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__


def has_text(record: Any, *names: str) -> bool:
    """Detection helper: `record` is an object whose named fields are all strings."""
    return isinstance(record, Mapping) and all(isinstance(record.get(n), str) for n in names)
