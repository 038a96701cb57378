"""One module per input format, each registered by name; see `registry` for detection."""

from instructmining.data.formats import (  # noqa: F401  (each import registers its format)
    alpaca,
    dolly,
    lima,
    messages,
    mt_bench,
    oasst,
    openorca,
    orca_dpo,
    pool_table,
    self_instruct,
    sharegpt,
    stackexchange,
)
from instructmining.data.formats.base import Draft, Format, Located, RecordFormat
from instructmining.data.formats.registry import FORMATS, detect_format, get_format, register

__all__ = [
    "FORMATS",
    "Draft",
    "Format",
    "Located",
    "RecordFormat",
    "detect_format",
    "get_format",
    "register",
]
