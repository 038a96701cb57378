"""OpenAI DPO layout of orca_dpo_pairs: `{input: {messages}, preferred_output, ...}`.

The preferred (GPT-4, from OpenOrca) answer to the last user message is the example; any
earlier turns become context. The rejected answer is ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from instructmining.data.formats.base import Draft, RecordFormat, as_object, items
from instructmining.data.formats.conversation import whole
from instructmining.data.formats.messages import openai_turns
from instructmining.data.formats.registry import register
from instructmining.data.problems import RecordProblem


@register
class OrcaDPO(RecordFormat):
    name = "orca-dpo"
    summary = "OpenAI DPO: input.messages + preferred_output (orca_dpo_pairs)"
    detect_rank = 20

    def detect(self, record: Any) -> bool:
        return (
            isinstance(record, Mapping)
            and isinstance(record.get("input"), Mapping)
            and isinstance(record.get("preferred_output"), list)
        )

    def to_drafts(self, record: Mapping[str, Any], all_turns: bool) -> list[Draft]:
        if record.get("input") is None:
            raise RecordProblem("missing field", "missing field 'input'")
        prompt = as_object(record["input"], "field 'input'")
        turns = openai_turns(items(prompt, "messages", label="input.messages"), "input.messages")
        turns += openai_turns(items(record, "preferred_output"), "preferred_output")
        conversation = whole(turns)  # the preferred reply answers the last prompt message
        return [conversation if all_turns else replace(conversation, messages=())]
