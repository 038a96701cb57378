"""Stack Exchange data dump `Posts.xml`: each answered question becomes one example.

Instruction = title + question body, response = the accepted answer when it is in the file,
else the top-scored answer (earliest on ties); bodies are HTML, stripped to text.
Unanswered questions are left out.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from instructmining.data.formats.base import Draft, Format, Located, text
from instructmining.data.formats.registry import register
from instructmining.data.html_text import html_to_text
from instructmining.data.problems import Problems, RecordProblem
from instructmining.data.readers import InputFile, Record

_QUESTION, _ANSWER = "1", "2"


@dataclass(frozen=True, slots=True)
class _Post:
    id: int
    score: int
    record: Record


def _number(row: Mapping[str, Any], name: str, required: bool = True) -> int | None:
    value = text(row, name, required=required)
    if not value and not required:
        return None
    try:
        return int(value)
    except ValueError as exc:
        raise RecordProblem(
            "wrong type", f"attribute '{name}' should be a number, not {value!r}"
        ) from exc


@register
class StackExchange(Format):
    name = "stackexchange"
    summary = "Stack Exchange dump Posts.xml (title + question -> accepted or top answer)"
    detect_rank = 5

    def detect(self, record: Any) -> bool:
        return isinstance(record, Mapping) and "PostTypeId" in record and "Id" in record

    def convert(
        self, files: list[InputFile], problems: Problems, all_turns: bool
    ) -> Iterator[Located]:
        for file in files:
            questions: list[Record] = []
            answers: dict[int, list[_Post]] = defaultdict(list)
            for record in file.records:
                try:
                    kind = text(record.value, "PostTypeId")
                    if kind == _QUESTION:
                        questions.append(record)
                    elif kind == _ANSWER:
                        post = _Post(
                            _number(record.value, "Id"), _number(record.value, "Score"), record
                        )
                        answers[_number(record.value, "ParentId")].append(post)
                except RecordProblem as exc:
                    problems.report(file.path, record.line, exc.kind, exc.message)
            for record in questions:
                try:
                    draft = self._draft(record.value, answers)
                except RecordProblem as exc:
                    problems.report(file.path, record.line, exc.kind, exc.message)
                    continue
                if draft is not None:
                    yield Located(file, record, draft)

    @staticmethod
    def _draft(question: Mapping[str, Any], answers: dict[int, list[_Post]]) -> Draft | None:
        replies = answers.get(_number(question, "Id"), [])
        if not replies:
            return None
        accepted = _number(question, "AcceptedAnswerId", required=False)
        chosen = next((a for a in replies if a.id == accepted), None) or max(
            replies, key=lambda a: (a.score, -a.id)
        )
        title = text(question, "Title")
        body = html_to_text(text(question, "Body"))
        try:
            answer = html_to_text(text(chosen.record.value, "Body"))
        except RecordProblem as exc:
            raise RecordProblem(exc.kind, f"answer {chosen.id}: {exc.message}") from exc
        return Draft(f"{title}\n\n{body}".strip(), answer)
