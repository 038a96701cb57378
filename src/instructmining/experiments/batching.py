"""Length-grouped batches: examples of similar length share a batch, so padding costs little.

Batches are right-padded and need no attention mask: in a causal model a real token only sees
earlier positions, which are all real, and padded positions carry no loss.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from instructmining.experiments.encoding import IGNORE, Encoded


def length_batches(
    lengths: Sequence[int], batch_size: int, rng: np.random.Generator | None = None
) -> list[list[int]]:
    """Indices sorted by length and cut into batches.

    With `rng`, ties are broken at random and the batch order is shuffled (a new order each
    epoch and seed); without it the order is fixed, longest first, for evaluation.
    """
    n = len(lengths)
    tiebreak = rng.permutation(n) if rng is not None else np.arange(n)
    order = sorted(range(n), key=lambda i: (-lengths[i], tiebreak[i]))
    batches = [order[i : i + batch_size] for i in range(0, n, batch_size)]
    if rng is not None:
        batches = [batches[i] for i in rng.permutation(len(batches))]
    return batches


def collate(examples: Sequence[Encoded], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(input_ids, labels) right-padded to the longest example; padding is labelled IGNORE."""
    width = max(len(e.ids) for e in examples)
    ids = torch.full((len(examples), width), pad_id, dtype=torch.long)
    labels = torch.full((len(examples), width), IGNORE, dtype=torch.long)
    for row, example in enumerate(examples):
        ids[row, : len(example.ids)] = torch.tensor(example.ids)
        labels[row, : len(example.ids)] = torch.tensor(example.labels)
    return ids, labels
