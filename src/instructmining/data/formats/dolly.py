"""databricks-dolly-15k: `{instruction, context, response, category}`.

Also AlpaGasus' `dolly_3k.json`, which renamed `context` to `input` and `response` to `output`
and kept `category`; the `category` is what tells it apart from plain Alpaca.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from instructmining.data.formats.base import Draft, RecordFormat, has_text, text
from instructmining.data.formats.registry import register


@register
class Dolly(RecordFormat):
    name = "dolly"
    summary = "instruction, context, response, category (or AlpaGasus' input/output variant)"
    detect_rank = 50

    def detect(self, record: Any) -> bool:
        return has_text(record, "instruction", "response") or has_text(
            record, "instruction", "output", "category"
        )

    def to_drafts(self, record: Mapping[str, Any], all_turns: bool) -> list[Draft]:
        original = "response" in record
        return [
            Draft(
                instruction=text(record, "instruction"),
                output=text(record, "response" if original else "output"),
                input=text(record, "context" if original else "input", required=False),
            )
        ]
