"""`--diversity`: DEITA's score-first, distance-threshold selection (Liu et al., "What Makes
Good Data for Alignment?", ICLR 2024).

Walk the candidates best-ranked first and keep an example only if its cosine distance to every
example kept so far exceeds the threshold (DEITA's repr filter: similarity to the nearest kept
example below 0.9, so the default distance 0.1). The embeddings are those of the kNN indicator
(indicators/embed.py: the bundled all-MiniLM-L6-v2 unless another embedder is given, over the
instruction, input and response), cached by text and model in the same indicator cache.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from instructmining.errors import UserError, param

DEFAULT_DISTANCE = 0.1


def check_diversity_threshold(threshold: float) -> None:
    """A cosine distance lies in [0, 2]; at 2 nothing could be kept after the first."""
    if not 0 <= threshold < 2:
        raise UserError(
            f"{param('diversity_threshold')} must lie in [0, 2) (a cosine distance), "
            f"got {threshold}"
        )


def diverse_walk(
    vectors: np.ndarray, threshold: float, limit: int | None = None
) -> tuple[np.ndarray, np.ndarray, int]:
    """Walk unit-length `vectors` in order; (kept, nearest, walked).

    kept[i]: row i lies farther than `threshold` (cosine distance) from every earlier kept row.
    nearest[i]: for a refused row, the position of the kept row it is too close to (-1 else).
    walked: rows examined; the walk stops once `limit` rows are kept, later rows stay unjudged.
    """
    check_diversity_threshold(threshold)
    kept = np.zeros(len(vectors), dtype=bool)
    nearest = np.full(len(vectors), -1)
    chosen: list[int] = []
    size = len(vectors) if limit is None else min(limit, len(vectors))
    matrix = np.empty((size, vectors.shape[1] if vectors.ndim == 2 else 0), dtype=np.float32)
    walked = 0
    for i, vector in enumerate(vectors):
        if limit is not None and len(chosen) >= limit:
            break
        walked = i + 1
        if chosen:
            similarity = matrix[: len(chosen)] @ vector
            closest = int(np.argmax(similarity))
            if 1.0 - float(similarity[closest]) <= threshold:
                nearest[i] = chosen[closest]
                continue
        matrix[len(chosen)] = vector
        chosen.append(i)
        kept[i] = True
    return kept, nearest, walked


def example_vectors(
    frame: pd.DataFrame, options: Any = None, cache_dir: Path | None = None, progress: bool = False
) -> np.ndarray:
    """Unit-length embeddings of the examples (rows of `frame`), shared with the kNN indicator's
    cache: a pool scored with knn embeds nothing again."""
    from instructmining.indicators import IndicatorOptions
    from instructmining.indicators.base import RunContext
    from instructmining.indicators.cache import ValueCache
    from instructmining.indicators.embed import embed
    from instructmining.indicators.knn import texts_of
    from instructmining.indicators.run import default_cache_dir, normalise_pool
    from instructmining.progress import progress_bar

    options = options or IndicatorOptions()
    cache = ValueCache(Path(cache_dir) if cache_dir is not None else default_cache_dir())
    bar = progress_bar("ex") if progress else None
    try:
        ctx = RunContext(options=options, cache=cache, progress=bar)
        return embed(ctx, options.embedder, texts_of(normalise_pool(frame)))
    finally:
        cache.close()
        if bar is not None and bar.live.is_started:
            bar.stop()
