"""Instruction data: read many formats into one normalised, deduplicated pool table."""

from instructmining.data.example import POOL_COLUMNS, Example, example_id, normalise_text
from instructmining.data.formats import FORMATS
from instructmining.data.pool import PoolBuild, build_pool, read_examples, read_pool, write_pool
from instructmining.data.stats import PoolStats, pool_stats

__all__ = [
    "FORMATS",
    "POOL_COLUMNS",
    "Example",
    "PoolBuild",
    "PoolStats",
    "build_pool",
    "example_id",
    "normalise_text",
    "pool_stats",
    "read_examples",
    "read_pool",
    "write_pool",
]
