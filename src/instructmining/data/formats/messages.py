"""OpenAI chat messages: `{messages: [{role, content}, ...]}`; system messages go to `system`.

`content` may also be a list of parts (`[{type: "text", text: ...}]`); only text parts are
accepted. `developer` (newer OpenAI name for the system role) counts as system.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from instructmining.data.formats.base import (
    Draft,
    RecordFormat,
    as_object,
    items,
    json_type,
    text,
)
from instructmining.data.formats.conversation import ROLES, Turn, exchanges
from instructmining.data.formats.registry import register
from instructmining.data.problems import RecordProblem

_ROLE_ALIASES = {"developer": "system"}


def openai_turns(messages: list[Any], label: str) -> list[Turn]:
    """Turns from a list of `{role, content}` messages; `label` names the list in messages."""
    turns = []
    for i, value in enumerate(messages):
        message = as_object(value, f"{label}[{i}]")
        role = text(message, "role", label=f"{label}[{i}].role")
        role = _ROLE_ALIASES.get(role, role)
        if role not in ROLES:
            raise RecordProblem("bad conversation", f"unsupported role '{role}' in {label}[{i}]")
        turns.append(Turn(role, _content(message, f"{label}[{i}]")))
    return turns


def _content(message: Mapping[str, Any], label: str) -> str:
    content = message.get("content")
    if not isinstance(content, list):
        return text(message, "content", label=f"{label}.content")
    parts = []
    for j, part in enumerate(content):
        part = as_object(part, f"{label}.content[{j}]")
        if part.get("type") != "text":
            kind = json_type(part.get("type"))
            raise RecordProblem(
                "wrong type", f"{label}.content[{j}] is not a text part (type {kind})"
            )
        parts.append(text(part, "text", label=f"{label}.content[{j}].text"))
    return "\n".join(parts)


@register
class Messages(RecordFormat):
    name = "messages"
    summary = "OpenAI chat: messages[{role, content}]"
    detect_rank = 80

    def detect(self, record: Any) -> bool:
        return isinstance(record, Mapping) and isinstance(record.get("messages"), list)

    def to_drafts(self, record: Mapping[str, Any], all_turns: bool) -> list[Draft]:
        return exchanges(openai_turns(items(record, "messages"), "messages"), all_turns)
