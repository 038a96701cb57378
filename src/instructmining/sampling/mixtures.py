"""Source proportions to integer example counts.

Counts come from largest-remainder rounding so they sum exactly to the subset size; a source
asked for more than it holds gives its overflow to the others, in proportion to their share.
"""

from __future__ import annotations

import numpy as np


def largest_remainder(weights: np.ndarray, total: int) -> np.ndarray:
    """Integers proportional to `weights` that sum to `total`; ties go to the earlier index."""
    shares = weights / weights.sum() * total
    counts = np.floor(shares).astype(np.int64)
    left = total - int(counts.sum())
    order = np.argsort(-(shares - counts), kind="stable")
    counts[order[:left]] += 1
    return counts


def allocate(proportions: np.ndarray, total: int, capacity: np.ndarray) -> np.ndarray:
    """Counts near `proportions * total` that sum to `total` and never exceed `capacity`."""
    if total > int(capacity.sum()):
        raise ValueError(f"cannot place {total} examples in {int(capacity.sum())}")
    counts = largest_remainder(proportions, total)
    while True:
        overflow = int(np.maximum(counts - capacity, 0).sum())
        if overflow == 0:
            return counts
        counts = np.minimum(counts, capacity)
        room = capacity - counts
        weights = np.where(room > 0, proportions, 0.0)
        if weights.sum() <= 0:  # the sources with room were drawn at zero: share by room
            weights = room.astype(float)
        counts = counts + largest_remainder(weights, overflow)
