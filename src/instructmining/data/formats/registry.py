"""Format names to format objects, and auto-detection over them."""

from __future__ import annotations

import difflib
from collections.abc import Mapping

from instructmining.data.formats.base import Format
from instructmining.data.readers import InputFile
from instructmining.errors import UserError, param

FORMATS: dict[str, Format] = {}
_DETECT_SAMPLE = 5


def register(cls: type[Format]) -> type[Format]:
    """Class decorator: make a format available by its `name`."""
    FORMATS[cls.name] = cls()
    return cls


def get_format(name: str) -> Format:
    """The format called `name`, or a one-line error that suggests the closest name."""
    if name in FORMATS:
        return FORMATS[name]
    close = difflib.get_close_matches(name, FORMATS, n=1)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    raise UserError(f"unknown format '{name}'{hint} (known: auto, {', '.join(sorted(FORMATS))})")


def detect_format(file: InputFile) -> Format:
    """The format matching most of the file's first records; ties go to the more specific one."""
    sample = [r.value for r in file.records[:_DETECT_SAMPLE]]
    if not sample:
        raise UserError(f"{file.path}: no readable records")
    ranked = sorted(FORMATS.values(), key=lambda f: f.detect_rank)
    votes = [(sum(map(fmt.detect, sample)), -fmt.detect_rank, fmt.name) for fmt in ranked]
    best = max(votes)
    if best[0] == 0:
        first = sample[0]
        shape = (
            f"keys: {', '.join(map(str, list(first)[:8]))}"
            if isinstance(first, Mapping)
            else f"a {type(first).__name__}"
        )
        raise UserError(
            f"{file.path}: no known format matches its records (first record has {shape}); "
            f"pass {param('format')} (one of {', '.join(sorted(FORMATS))})"
        )
    return FORMATS[best[2]]
