"""The normalised example and its content id.

The id hashes only the normalised instruction, input and output, so the same example gets the
same id from any file, source name or machine; that is what deduplication and every
`id`-keyed table downstream rely on. A conversation kept whole (`--all-turns`) hashes its
messages instead (system turns included), so its cached indicator values, which score the
whole history, are never mistaken for those of a flattened exchange.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from instructmining.hashing import hash_object

POOL_COLUMNS = ["id", "source", "instruction", "input", "output", "system"]
# The whole conversation as JSON text ([{"role", "content"}, ...]), "" for an example read as
# one exchange; optional in a pool table, so pools written before it existed still read.
MESSAGES = "messages"
STORED_COLUMNS = [*POOL_COLUMNS, MESSAGES]


def normalise_text(text: str) -> str:
    """Unix newlines, Unicode NFC and no surrounding whitespace: equal texts then hash equally."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return unicodedata.normalize("NFC", text).strip()


def example_id(instruction: str, input: str, output: str) -> str:
    """First 16 hex digits of the SHA-256 of the canonical JSON `[instruction, input, output]`."""
    return hash_object([instruction, input, output])


@dataclass(frozen=True, slots=True)
class Example:
    """One row of the pool table."""

    id: str
    source: str
    instruction: str
    input: str
    output: str
    system: str
    messages: str = ""

    @classmethod
    def create(
        cls,
        source: str,
        instruction: str,
        input: str,
        output: str,
        system: str,
        messages: Sequence[tuple[str, str]] = (),
    ) -> Example:
        """Normalise every text field and derive the id from the normalised content."""
        instruction, input, output = (normalise_text(t) for t in (instruction, input, output))
        turns = [{"role": role, "content": normalise_text(text)} for role, text in messages]
        return cls(
            id=hash_object({"messages": turns})
            if turns
            else example_id(instruction, input, output),
            source=source,
            instruction=instruction,
            input=input,
            output=output,
            system=normalise_text(system),
            messages=json.dumps(turns, ensure_ascii=False) if turns else "",
        )


def conversation(row: Mapping[str, Any]) -> list[dict[str, str]] | None:
    """A pool row's whole conversation as chat messages, or None for a single exchange (or a
    row of a pool written before conversations were kept)."""
    text = row.get(MESSAGES)
    return json.loads(text) if isinstance(text, str) and text else None


def valid_messages(text: Any) -> bool:
    """Whether a `messages` cell is "" or JSON text of [{role, content}, ...] with known roles
    and text content: a hand-made table is checked before anything reads it."""
    if text is None or text == "":
        return True
    try:
        turns = json.loads(text) if isinstance(text, str) else None
    except ValueError:
        return False
    return isinstance(turns, list) and all(
        isinstance(t, dict)
        and t.get("role") in ("system", "user", "assistant")
        and isinstance(t.get("content"), str)
        for t in turns
    )
