"""SELF-INSTRUCT: `{instruction, instances: [{input, output}, ...]}`, one example per instance."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from instructmining.data.formats.base import (
    Draft,
    RecordFormat,
    as_object,
    has_text,
    items,
    text,
)
from instructmining.data.formats.registry import register


@register
class SelfInstruct(RecordFormat):
    name = "self-instruct"
    summary = "instruction, instances[{input, output}] (one example per instance)"
    detect_rank = 30

    def detect(self, record: Any) -> bool:
        return has_text(record, "instruction") and isinstance(record.get("instances"), list)

    def to_drafts(self, record: Mapping[str, Any], all_turns: bool) -> list[Draft]:
        instruction = text(record, "instruction")
        drafts = []
        for i, value in enumerate(items(record, "instances")):
            instance = as_object(value, f"instances[{i}]")
            drafts.append(
                Draft(
                    instruction=instruction,
                    output=text(instance, "output", label=f"instances[{i}].output"),
                    input=text(instance, "input", required=False, label=f"instances[{i}].input"),
                )
            )
        return drafts
