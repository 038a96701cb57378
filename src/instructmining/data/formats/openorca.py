"""OpenOrca: `{id, system_prompt, question, response}`; the system prompt goes to `system`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from instructmining.data.formats.base import Draft, RecordFormat, has_text, text
from instructmining.data.formats.registry import register


@register
class OpenOrca(RecordFormat):
    name = "openorca"
    summary = "system_prompt, question, response"
    detect_rank = 60

    def detect(self, record: Any) -> bool:
        return has_text(record, "question", "response")

    def to_drafts(self, record: Mapping[str, Any], all_turns: bool) -> list[Draft]:
        return [
            Draft(
                instruction=text(record, "question"),
                output=text(record, "response"),
                system=text(record, "system_prompt", required=False),
            )
        ]
