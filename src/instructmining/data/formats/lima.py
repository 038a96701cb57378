"""LIMA as LLaMA-Factory converted it: `{instruction, input, output, history: [[user, assistant]]}`.

`history` holds the earlier turns of a multi-turn record, so a record is a conversation whose
last exchange is instruction (+ input) -> output; the first exchange is the default example.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from instructmining.data.formats.base import Draft, RecordFormat, has_text, json_type, text
from instructmining.data.formats.conversation import Turn, exchanges
from instructmining.data.formats.registry import register
from instructmining.data.problems import RecordProblem


@register
class Lima(RecordFormat):
    name = "lima"
    summary = "LLaMA-Factory alpaca with history: instruction, input, output, history[[q, a]]"
    detect_rank = 40

    def detect(self, record: Any) -> bool:
        return has_text(record, "instruction", "output") and isinstance(record.get("history"), list)

    def to_drafts(self, record: Mapping[str, Any], all_turns: bool) -> list[Draft]:
        history = record.get("history") or []
        if not isinstance(history, list):
            raise RecordProblem(
                "wrong type", f"field 'history' should be a list, not {json_type(history)}"
            )
        turns = []
        for i, pair in enumerate(history):
            if not (
                isinstance(pair, list) and len(pair) == 2 and all(isinstance(t, str) for t in pair)
            ):
                raise RecordProblem(
                    "wrong type", f"history[{i}] should be a [user, assistant] pair"
                )
            turns += [Turn("user", pair[0]), Turn("assistant", pair[1])]
        turns += [
            Turn("user", text(record, "instruction"), text(record, "input", required=False)),
            Turn("assistant", text(record, "output")),
        ]
        return exchanges(turns, all_turns, system=text(record, "system", required=False))
