"""`--dedup exact|minhash`: duplicates inside the pool, the best-ranked copy kept.

An example's text is its instruction, input and response, normalised as the contamination
check normalises it (data/overlap.py: case, punctuation and spacing do not count). `exact`
drops an example whose normalised text equals a better-ranked one's; `minhash` also drops one
whose estimated Jaccard similarity of word 5-grams (datasketch's MinHash LSH, the same
signatures as the contamination check) to a better-ranked kept example reaches the threshold.

The walk goes best-ranked first and compares each example with those already kept, so of a group
of duplicates the best-ranked one (ties broken by id, as in the ranking) is kept and each dropped
example names the kept one it duplicates.
"""

from __future__ import annotations

import pandas as pd

from instructmining.errors import UserError, param
from instructmining.indicators.texts import embedding_text

DEDUP_METHODS = ("exact", "minhash")
DEFAULT_THRESHOLD = 0.8  # as the contamination check's default
LSH_MAX_THRESHOLD = 0.9


def check_dedup(method: str | None, threshold: float) -> None:
    """Refuse an unknown method or a threshold outside (0, 1], before any work."""
    if method is not None and method not in DEDUP_METHODS:
        raise UserError(
            f"{param('dedup')} must be one of {', '.join(DEDUP_METHODS)} (got {method!r})"
        )
    if not 0 < threshold <= 1:
        raise UserError(
            f"{param('dedup_threshold')} must lie in (0, 1] (a Jaccard similarity), got {threshold}"
        )


def example_texts(frame: pd.DataFrame) -> list[str]:
    """Each example's normalised instruction, input and response."""
    from instructmining.data.overlap import normalised

    columns = [frame[c].fillna("").astype(str) for c in ("instruction", "input", "output")]
    return [normalised(embedding_text(*parts)) for parts in zip(*columns, strict=True)]


def find_duplicates(
    ordered: pd.DataFrame, method: str, threshold: float = DEFAULT_THRESHOLD
) -> dict[str, str]:
    """Dropped id -> the kept id it duplicates, for `ordered` (best-ranked first)."""
    from datasketch import MinHashLSH

    from instructmining.data.overlap import NUM_PERM, minhash

    check_dedup(method, threshold)
    exact: dict[str, str] = {}
    # The index only proposes candidates, each then checked against `threshold`; above 0.9 its
    # banding would need fewer than two bands (datasketch refuses), so it proposes at 0.9.
    lsh_threshold = min(threshold, LSH_MAX_THRESHOLD)
    lsh = MinHashLSH(threshold=lsh_threshold, num_perm=NUM_PERM) if method == "minhash" else None
    signatures = {}
    dropped: dict[str, str] = {}
    ids = ordered["id"].astype(str).tolist()
    position = {id_: i for i, id_ in reversed(list(enumerate(ids)))}
    for id_, text in zip(ids, example_texts(ordered), strict=True):
        if text in exact:
            dropped[id_] = exact[text]
            continue
        if lsh is not None and text:
            signature = minhash(text)
            near = [
                k for k in lsh.query(signature) if signature.jaccard(signatures[k]) >= threshold
            ]
            if near:
                dropped[id_] = min(near, key=position.__getitem__)
                continue
            signatures[id_] = signature
            lsh.insert(id_, signature)
        exact[text] = id_
    return dropped
