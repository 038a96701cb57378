"""Conversations to examples, shared by every chat-shaped format.

By default only a conversation's first exchange (a user turn directly followed by an assistant
turn) becomes an example. With `all_turns` the conversation is kept whole: one example whose
`messages` hold every turn in order (system, user, assistant, ...) and whose flat fields hold
its last exchange, the earlier turns going into `input` as a transcript ("User: ...",
"Assistant: ..."), so the instruction stays the request being answered. A conversation kept
whole must be well formed (see `check_conversation`): it is trained on as it stands.
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

    @property
    def content(self) -> str:
        """The message as a chat template shows it: the text, then its context (if any)."""
        return f"{self.text}\n\n{self.context}" if self.context else self.text


def transcript(turns: list[Turn]) -> str:
    """Earlier turns as plain text, one paragraph per turn."""
    return "\n\n".join(f"{_LABELS[t.role]}: {t.text.strip()}" for t in turns)


def check_conversation(turns: list[Turn]) -> None:
    """A conversation kept whole: no empty turn, user and assistant turns alternating from a
    user turn, and an assistant turn last (else nothing answers the last request)."""
    previous = None
    for i, turn in enumerate(turns, start=1):
        if turn.role == "system":  # an empty one says nothing and is left out
            continue
        if not turn.content.strip():
            raise RecordProblem("bad conversation", f"turn {i} ({turn.role}) is empty")
        if previous is None and turn.role != "user":
            raise RecordProblem(
                "bad conversation", f"turn {i} is an assistant turn before any user turn"
            )
        if turn.role == previous:
            raise RecordProblem(
                "bad conversation", f"turns {i - 1} and {i} are two {turn.role} turns in a row"
            )
        previous = turn.role
    if previous != "assistant":
        raise RecordProblem(
            "bad conversation",
            "the conversation has no assistant turn"
            if previous is None
            else f"the last turn ({len(turns)}) is a user turn that nothing answers",
        )


def whole(turns: list[Turn], system: str = "") -> Draft:
    """The conversation as one draft: every turn in `messages`, the last exchange flat.

    A last user turn that nothing answers (common in ShareGPT dumps) cannot be trained on and
    is left out; the draft says so (`trimmed`) for the build summary to count."""
    trimmed = len(turns) > 1 and turns[-1].role == "user" and turns[-2].role == "assistant"
    turns = turns[:-1] if trimmed else turns
    check_conversation(turns)  # turns numbered as the record gives them
    # An empty system message says nothing (orca_dpo_pairs has many): it is left out.
    turns = [t for t in [Turn("system", system), *turns] if t.role != "system" or t.text.strip()]
    chat = [t for t in turns if t.role != "system"]
    request, answer = chat[-2], chat[-1]
    context = "\n\n".join(p for p in (transcript(chat[:-2]), request.context) if p)
    system = "\n\n".join(t.text for t in turns if t.role == "system").strip()
    messages = tuple((t.role, t.content) for t in turns)
    return Draft(request.text, answer.text, context, system, messages=messages, trimmed=trimmed)


def exchanges(turns: list[Turn], all_turns: bool, system: str = "") -> list[Draft]:
    """The first exchange as a draft, or with `all_turns` the whole conversation (`whole`);
    system turns fill `system`."""
    if all_turns:
        return [whole(turns, system)]
    system = "\n\n".join([system, *(t.text for t in turns if t.role == "system")]).strip()
    chat = [t for t in turns if t.role != "system"]
    for i, turn in enumerate(chat[:-1]):
        if turn.role == "user" and chat[i + 1].role == "assistant":
            context = "\n\n".join(p for p in (transcript(chat[:i]), turn.context) if p)
            return [Draft(turn.text, chat[i + 1].text, context, system)]
    raise RecordProblem("bad conversation", "no user turn followed by an assistant turn")
