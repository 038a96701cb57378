"""Conversations to examples, shared by every chat-shaped format.

Each user turn directly followed by an assistant turn is one exchange. By default only the
first exchange becomes an example; with `all_turns` every exchange does, and the turns before it
go into `input` as a transcript ("User: ...", "Assistant: ..."), so the instruction stays the
request being answered and the id tells apart the same request in different conversations.
"""

from __future__ import annotations

from dataclasses import dataclass

from instructmining.data.formats.base import Draft
from instructmining.data.problems import RecordProblem

ROLES = ("system", "user", "assistant")
_LABELS = {"user": "User", "assistant": "Assistant"}


@dataclass(frozen=True, slots=True)
class Turn:
    """One message; `context` is extra input attached to a user turn (LIMA's `input`)."""

    role: str
    text: str
    context: str = ""


def transcript(turns: list[Turn]) -> str:
    """Earlier turns as plain text, one paragraph per turn."""
    return "\n\n".join(f"{_LABELS[t.role]}: {t.text.strip()}" for t in turns)


def exchanges(turns: list[Turn], all_turns: bool, system: str = "") -> list[Draft]:
    """The first (or every) user -> assistant exchange as drafts; system turns fill `system`."""
    system = "\n\n".join([system, *(t.text for t in turns if t.role == "system")]).strip()
    chat = [t for t in turns if t.role != "system"]
    drafts = []
    for i, turn in enumerate(chat[:-1]):
        if turn.role == "user" and chat[i + 1].role == "assistant":
            context = "\n\n".join(p for p in (transcript(chat[:i]), turn.context) if p)
            drafts.append(Draft(turn.text, chat[i + 1].text, context, system))
            if not all_turns:
                break
    if not drafts:
        raise RecordProblem("bad conversation", "no user turn followed by an assistant turn")
    return drafts
