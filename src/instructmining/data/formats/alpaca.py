"""Alpaca: `{instruction, input, output}`; AlpacaEval's `model_outputs.json` has the same shape.

`input` is optional (AlpacaEval has none); an optional `system` field is kept.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from instructmining.data.formats.base import Draft, RecordFormat, has_text, text
from instructmining.data.formats.registry import register


@register
class Alpaca(RecordFormat):
    name = "alpaca"
    summary = "instruction, input, output (also AlpacaEval model_outputs.json)"
    detect_rank = 90

    def detect(self, record: Any) -> bool:
        return has_text(record, "instruction", "output")

    def to_drafts(self, record: Mapping[str, Any], all_turns: bool) -> list[Draft]:
        return [
            Draft(
                instruction=text(record, "instruction"),
                output=text(record, "output"),
                input=text(record, "input", required=False),
                system=text(record, "system", required=False),
            )
        ]
