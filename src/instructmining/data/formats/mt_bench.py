"""MT-Bench (FastChat llm_judge): `question.jsonl` joined by `question_id` with answer files.

Answer files are `model_answer/<model>.jsonl` or `reference_answer/gpt-4.jsonl`
(`{question_id, choices: [{turns: [...]}]}`); the legacy Vicuna eval table
(`{question_id, text}` questions and answers) is read the same way. Each answer file gives one
example per answered question (first turn; both turns with `all_turns`), named after the
answer file. Questions without an answer are left out.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from instructmining.data.formats.base import Format, Located, as_object, items, json_type, text
from instructmining.data.formats.conversation import Turn, exchanges
from instructmining.data.formats.registry import register
from instructmining.data.problems import Problems, RecordProblem
from instructmining.data.readers import InputFile
from instructmining.errors import UserError


def _is_answer(record: Any) -> bool:
    return isinstance(record, Mapping) and ("choices" in record or "answer_id" in record)


def _question_id(record: Mapping[str, Any]) -> int | str:
    qid = record.get("question_id")
    if qid is None:
        raise RecordProblem("missing field", "missing field 'question_id'")
    if not isinstance(qid, int | str) or isinstance(qid, bool):
        raise RecordProblem(
            "wrong type", f"field 'question_id' should be a number or string, not {json_type(qid)}"
        )
    return qid


def _texts(record: Mapping[str, Any], label: str) -> list[str]:
    """The turns of a question or of an answer's first choice (or its single `text`)."""
    if "text" in record and "turns" not in record and "choices" not in record:
        return [text(record, "text")]
    if "choices" in record:
        record = as_object(items(record, "choices")[0], "choices[0]")
        label = "choices[0].turns"
    turns = items(record, "turns", label=label)
    for i, turn in enumerate(turns):
        if not isinstance(turn, str):
            raise RecordProblem(
                "wrong type", f"{label}[{i}] should be a string, not {json_type(turn)}"
            )
    return turns


@register
class MTBench(Format):
    name = "mt-bench"
    summary = "MT-Bench question.jsonl + model_answer/reference_answer file, joined by question_id"
    detect_rank = 25
    joins_files = True

    def detect(self, record: Any) -> bool:
        return (
            isinstance(record, Mapping)
            and "question_id" in record
            and any(k in record for k in ("turns", "choices", "text"))
        )

    def convert(
        self, files: list[InputFile], problems: Problems, all_turns: bool
    ) -> Iterator[Located]:
        answers = [f for f in files if f.records and _is_answer(f.records[0].value)]
        questions = [f for f in files if f not in answers]
        if not questions:
            raise UserError(
                f"{answers[0].path}: MT-Bench answers need their question file too, e.g. "
                f"`pool build question.jsonl {answers[0].path.name} --format mt-bench`"
            )
        if not answers:
            raise UserError(
                f"{questions[0].path}: MT-Bench questions have no responses; pass an answer file "
                "too (model_answer/<model>.jsonl or reference_answer/gpt-4.jsonl)"
            )
        asked = self._questions(questions, problems)
        for file in answers:
            for record in file.records:
                try:
                    answer = as_object(record.value)
                    qid = _question_id(answer)
                    if qid not in asked:
                        raise RecordProblem(
                            "unknown question", f"question_id {qid} is not in the question file"
                        )
                    replies = _texts(answer, "turns")
                    turns = []
                    for question, reply in zip(asked[qid], replies, strict=False):
                        turns += [Turn("user", question), Turn("assistant", reply)]
                    drafts = exchanges(turns, all_turns)
                except RecordProblem as exc:
                    problems.report(file.path, record.line, exc.kind, record.where() + exc.message)
                    continue
                for draft in drafts:
                    yield Located(file, record, draft)

    def _questions(self, files: list[InputFile], problems: Problems) -> dict[Any, list[str]]:
        asked: dict[Any, list[str]] = {}
        for file in files:
            for record in file.records:
                try:
                    question = as_object(record.value)
                    qid = _question_id(question)
                    if qid in asked:
                        raise RecordProblem("duplicate question", f"question_id {qid} repeats")
                    asked[qid] = _texts(question, "turns")
                except RecordProblem as exc:
                    problems.report(file.path, record.line, exc.kind, record.where() + exc.message)
        return asked
