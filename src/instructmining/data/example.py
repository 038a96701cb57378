"""The normalised example and its content id.

The id hashes only the normalised instruction, input and output, so the same example gets the
same id from any file, source name or machine; that is what deduplication and every
`id`-keyed table downstream rely on.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from instructmining.hashing import hash_object

POOL_COLUMNS = ["id", "source", "instruction", "input", "output", "system"]


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

    @classmethod
    def create(cls, source: str, instruction: str, input: str, output: str, system: str) -> Example:
        """Normalise every text field and derive the id from the normalised content."""
        instruction, input, output = (normalise_text(t) for t in (instruction, input, output))
        return cls(
            id=example_id(instruction, input, output),
            source=source,
            instruction=instruction,
            input=input,
            output=output,
            system=normalise_text(system),
        )
