"""OpenAssistant oasst1: message rows (`message_id, parent_id, role, text, rank`) or tree export.

Both shapes become prompter -> assistant pairs. For each prompt the best-ranked reply is kept
(lowest `rank`; unranked replies last, then file order). By default only root prompts give
examples (first turn). With `all_turns` each conversation of the tree is kept whole: every path
from the root that ends at a prompt's best reply which no answered prompt continues, with all
its turns in order in `messages` (a branch under a lower-ranked reply is a conversation of its
own). Deleted messages, and everything below them, are left out.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from instructmining.data.formats.base import Draft, Format, Located, as_object, json_type, text
from instructmining.data.formats.conversation import Turn, transcript, whole
from instructmining.data.formats.registry import register
from instructmining.data.problems import Problems, RecordProblem
from instructmining.data.readers import InputFile, Record
from instructmining.errors import InputError

_ROLES = {"prompter": "user", "assistant": "assistant"}


@dataclass(frozen=True, slots=True)
class _Message:
    id: str
    parent: str | None
    role: str
    text: str
    rank: float | None
    order: int
    record: Record


def _message(value: Mapping[str, Any], parent: str | None, order: int, record: Record) -> _Message:
    role = text(value, "role")
    if role not in _ROLES:
        raise RecordProblem("wrong type", f"role '{role}' is neither 'prompter' nor 'assistant'")
    rank = value.get("rank")
    if rank is not None and (not isinstance(rank, int | float) or isinstance(rank, bool)):
        raise RecordProblem("wrong type", f"field 'rank' should be a number, not {json_type(rank)}")
    return _Message(
        text(value, "message_id"), parent, role, text(value, "text"), rank, order, record
    )


def _tree_messages(record: Record) -> Iterator[tuple[_Message, bool]]:
    """Messages of one exported tree, walking the nested `replies`."""
    stack: list[tuple[Any, str | None, str]] = [(record.value.get("prompt"), None, "prompt")]
    order = 0
    while stack:
        value, parent, label = stack.pop()
        node = as_object(value, label)
        message = _message(node, parent, order, record)
        order += 1
        yield message, bool(node.get("deleted"))
        replies = node.get("replies") or []
        if not isinstance(replies, list):
            raise RecordProblem("wrong type", f"{label}.replies should be a list")
        stack += [
            (r, message.id, f"{label}.replies[{i}]") for i, r in reversed(list(enumerate(replies)))
        ]


def _row_message(record: Record, order: int) -> tuple[_Message, bool]:
    row = as_object(record.value)
    parent = row.get("parent_id")
    if parent is not None and not isinstance(parent, str):
        raise RecordProblem(
            "wrong type", f"field 'parent_id' should be a string, not {json_type(parent)}"
        )
    return _message(row, parent, order, record), bool(row.get("deleted"))


def _check_unique(file: InputFile, message: _Message, first_line: dict[str, int]) -> None:
    """A reused message_id would pair one prompt's answer with another prompt's text, whichever
    copy is dropped, so it stops the build even under --on-error skip."""
    if message.id in first_line:
        raise InputError(
            file.path,
            message.record.line,
            f"{message.record.where()}message_id {message.id!r} is used twice (first on line "
            f"{first_line[message.id]}); message ids must be unique",
        )
    first_line[message.id] = message.record.line


@register
class Oasst(Format):
    name = "oasst"
    summary = "oasst1 message rows or tree export; best-ranked reply per prompt"
    detect_rank = 10

    def detect(self, record: Any) -> bool:
        if not isinstance(record, Mapping):
            return False
        prompt = record.get("prompt")
        return ("message_id" in record and "role" in record and "text" in record) or (
            isinstance(prompt, Mapping) and "replies" in prompt
        )

    def convert(
        self, files: list[InputFile], problems: Problems, all_turns: bool
    ) -> Iterator[Located]:
        for file in files:
            messages = self._messages(file, problems)
            yield from self._pairs(file, messages, problems, all_turns)

    def _messages(self, file: InputFile, problems: Problems) -> dict[str, _Message]:
        kept: dict[str, _Message] = {}
        deleted: set[str] = set()
        first_line: dict[str, int] = {}
        for record in file.records:
            try:
                if isinstance(record.value, Mapping) and "prompt" in record.value:
                    found = list(_tree_messages(record))
                else:
                    found = [_row_message(record, len(kept) + len(deleted))]
            except RecordProblem as exc:
                problems.report(file.path, record.line, exc.kind, record.where() + exc.message)
                continue
            for message, is_deleted in found:
                _check_unique(file, message, first_line)
                if is_deleted:
                    deleted.add(message.id)
                else:
                    kept[message.id] = message
        # Drop every message below a deleted one: its conversation no longer exists.
        below = {m for m in kept if self._chain(m, kept, deleted) == "deleted"}
        return {k: m for k, m in kept.items() if k not in below}

    @staticmethod
    def _chain(message_id: str, kept: dict[str, _Message], deleted: set[str]) -> str:
        """'ok' when every ancestor is present, else 'deleted' or 'missing' for the first gap."""
        parent = kept[message_id].parent
        seen = {message_id}
        while parent is not None:
            if parent in deleted:
                return "deleted"
            if parent not in kept or parent in seen:
                return "missing"
            seen.add(parent)
            parent = kept[parent].parent
        return "ok"

    def _pairs(
        self, file: InputFile, kept: dict[str, _Message], problems: Problems, all_turns: bool
    ) -> Iterator[Located]:
        replies: dict[str, list[_Message]] = defaultdict(list)
        prompts: dict[str, list[_Message]] = defaultdict(list)
        for message in kept.values():
            if message.parent is not None:
                (replies if message.role == "assistant" else prompts)[message.parent].append(
                    message
                )

        def best(prompt: _Message) -> _Message:
            return min(replies[prompt.id], key=lambda m: (m.rank is None, m.rank or 0, m.order))

        for message in sorted(kept.values(), key=lambda m: (m.record.line, m.order)):
            if message.role != "prompter" or not replies[message.id]:
                continue
            if message.parent is not None and not all_turns:
                continue
            if all_turns and any(replies[p.id] for p in prompts[best(message).id]):
                continue  # the conversation goes on: it is kept whole where it ends
            if self._chain(message.id, kept, set()) != "ok":
                problems.report(
                    file.path,
                    message.record.line,
                    "missing parent message",
                    f"{message.record.where()}message {message.id} continues a conversation "
                    "whose earlier messages are not in the file",
                )
                continue
            history = self._history(message, kept)
            if all_turns:
                turns = [
                    *history,
                    Turn("user", message.text),
                    Turn("assistant", best(message).text),
                ]
                try:
                    draft = whole(turns)
                except RecordProblem as exc:
                    where = message.record.where()
                    problems.report(file.path, message.record.line, exc.kind, where + exc.message)
                    continue
            else:
                draft = Draft(message.text, best(message).text, transcript(history))
            yield Located(file, message.record, draft)

    @staticmethod
    def _history(message: _Message, kept: dict[str, _Message]) -> list[Turn]:
        """The turns from the root down to `message`'s parent, in order."""
        turns = []
        parent = message.parent
        while parent is not None:
            turns.append(Turn(_ROLES[kept[parent].role], kept[parent].text))
            parent = kept[parent].parent
        return turns[::-1]
