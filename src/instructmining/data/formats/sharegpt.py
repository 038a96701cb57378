"""ShareGPT: `{conversations: [{from, value}, ...]}` with `from` human/gpt (and aliases).

An optional top-level `system` string (LLaMA-Factory's sharegpt layout) is kept.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from instructmining.data.formats.base import Draft, RecordFormat, as_object, items, text
from instructmining.data.formats.conversation import Turn, exchanges
from instructmining.data.formats.registry import register
from instructmining.data.problems import RecordProblem

_ROLES = {
    "human": "user",
    "user": "user",
    "gpt": "assistant",
    "assistant": "assistant",
    "chatgpt": "assistant",
    "bard": "assistant",
    "bing": "assistant",
    "model": "assistant",
    "system": "system",
}


@register
class ShareGPT(RecordFormat):
    name = "sharegpt"
    summary = "conversations[{from: human|gpt|system, value}]"
    detect_rank = 80

    def detect(self, record: Any) -> bool:
        return isinstance(record, Mapping) and isinstance(record.get("conversations"), list)

    def to_drafts(self, record: Mapping[str, Any], all_turns: bool) -> list[Draft]:
        turns = []
        for i, value in enumerate(items(record, "conversations")):
            message = as_object(value, f"conversations[{i}]")
            speaker = text(message, "from", label=f"conversations[{i}].from")
            if speaker.lower() not in _ROLES:
                raise RecordProblem(
                    "bad conversation", f"unknown speaker '{speaker}' in conversations[{i}]"
                )
            turns.append(
                Turn(
                    _ROLES[speaker.lower()],
                    text(message, "value", label=f"conversations[{i}].value"),
                )
            )
        return exchanges(turns, all_turns, system=text(record, "system", required=False))
