"""A pool table written by this tool, so pools can be merged and used as evaluation sets.

Each row keeps its own `source` unless `--source` overrides it; ids are recomputed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from instructmining.data.example import MESSAGES, POOL_COLUMNS, conversation, valid_messages
from instructmining.data.formats.base import Draft, RecordFormat, text
from instructmining.data.formats.registry import register
from instructmining.data.problems import RecordProblem


@register
class PoolTable(RecordFormat):
    name = "pool"
    summary = "a pool.parquet from `instructmining pool build` (id, source, instruction, ...)"
    detect_rank = 0

    def detect(self, record: Any) -> bool:
        return isinstance(record, Mapping) and all(c in record for c in POOL_COLUMNS)

    def to_drafts(self, record: Mapping[str, Any], all_turns: bool) -> list[Draft]:
        return [
            Draft(
                instruction=text(record, "instruction"),
                output=text(record, "output"),
                input=text(record, "input", required=False),
                system=text(record, "system", required=False),
                source=text(record, "source", required=False) or None,
                messages=_messages(record),
            )
        ]


def _messages(record: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    """A kept conversation's turns (the `messages` JSON text), so merged pools keep them."""
    cell = text(record, MESSAGES, required=False)
    if not valid_messages(cell):
        raise RecordProblem(
            "wrong type", "field 'messages' should be JSON text of [{role, content}, ...]"
        )
    return tuple((m["role"], m["content"]) for m in conversation({MESSAGES: cell}) or ())
