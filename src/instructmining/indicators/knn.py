"""kNN distance: how far an example lies from its k-th nearest neighbour in embedding space.

knn{k} = 1 - cosine similarity to the k-th nearest neighbour of the example's embedding
(instruction, input and response) in a reference set: the pool itself, or another file. The
example never counts as its own neighbour, nor do exact copies of its text. The value depends
on the whole reference set, so the reference's content hash is part of the cache key.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from instructmining.hashing import hash_object
from instructmining.indicators.base import WHOLE_CONVERSATION, Indicator, RunContext
from instructmining.indicators.embed import embed, text_key
from instructmining.indicators.neighbours import NeighbourIndex
from instructmining.indicators.texts import embedding_text
from instructmining.storage import read_parquet

TEXT_FORMAT = "instruction\\ninput\\noutput"


def texts_of(frame: pd.DataFrame) -> list[str]:
    return [
        embedding_text(*row)
        for row in zip(frame.instruction, frame.input, frame.output, strict=True)
    ]


def load_reference(path: Path) -> pd.DataFrame:
    """A reference set: a pool-like Parquet table or any file the pool reader accepts."""
    if Path(path).suffix == ".parquet":
        frame = read_parquet(path, required=["instruction", "output"])
        if "input" not in frame.columns:
            frame["input"] = ""
        return frame.fillna("")
    from instructmining.data import read_examples

    return read_examples(path)


def kth_distances(
    sims: np.ndarray, found: np.ndarray, ref_keys: np.ndarray, query_keys: list[str], k: int
) -> list[float | None]:
    """1 - similarity of the k-th neighbour that is not a copy of the query (None if too few)."""
    out: list[float | None] = []
    for row_sims, row_found, key in zip(sims, found, query_keys, strict=True):
        keep = (row_found >= 0) & (ref_keys[np.maximum(row_found, 0)] != key)
        kept = row_sims[keep]
        out.append(max(0.0, 1.0 - float(kept[k - 1])) if len(kept) >= k else None)
    return out


class KnnIndicator(Indicator):
    names = ("knn",)
    family = "knn"
    scope = WHOLE_CONVERSATION  # it embeds the instruction, the input (earlier turns), the output
    version = "1"
    default_batch_size = 1024

    def outputs(self) -> list[str]:
        return [f"knn{self.options.k}"]

    def model_name(self) -> str:
        return self.options.embedder

    def _reference(self, frame: pd.DataFrame | None) -> pd.DataFrame | None:
        path = self.options.knn_reference
        if path is None:
            return frame
        if not hasattr(self, "_reference_frame"):
            self._reference_frame = load_reference(path)
        return self._reference_frame

    def params(self, frame: pd.DataFrame | None) -> dict[str, Any]:
        reference = self._reference(frame)
        params: dict[str, Any] = {"k": self.options.k, "text": TEXT_FORMAT}
        if reference is None:
            params["reference"] = str(self.options.knn_reference or "pool")
            return params
        keys = sorted(text_key(t) for t in texts_of(reference))
        params["reference"] = hash_object(keys, length=24)
        params["search"] = (
            "exact" if len(keys) <= self.options.knn_exact_max else "ivf-sq8-refined-recall0.95"
        )
        return params

    def prepare(self, frame: pd.DataFrame, todo: pd.DataFrame, ctx: RunContext) -> None:
        reference = self._reference(frame)
        ref_texts, query_texts = texts_of(reference), texts_of(todo)
        vectors = embed(ctx, self.options.embedder, ref_texts + query_texts)
        self.ref_keys = np.array([text_key(t) for t in ref_texts])
        self.queries = dict(zip(todo.id, vectors[len(ref_texts) :], strict=True))
        self.query_keys = dict(zip(todo.id, (text_key(t) for t in query_texts), strict=True))
        copies = Counter(self.ref_keys.tolist())
        self.extra = max((copies.get(k, 0) for k in self.query_keys.values()), default=0)
        self.index = NeighbourIndex(vectors[: len(ref_texts)], self.options.knn_exact_max)
        recall = self.index.tune(vectors[len(ref_texts) :], self.options.k + self.extra)
        ctx.notes.append(
            f"knn: {self.index.method} search over {len(ref_texts):,} reference examples"
            + (
                f", recall@{self.options.k} {recall:.3f} on a sample"
                if self.index.method != "exact"
                else ""
            )
        )

    def compute(self, batch: pd.DataFrame, columns: list[str], ctx: RunContext) -> dict[str, list]:
        queries = np.stack([self.queries[i] for i in batch.id])
        sims, found = self.index.search(queries, self.options.k + self.extra)
        keys = [self.query_keys[i] for i in batch.id]
        return {self.outputs()[0]: kth_distances(sims, found, self.ref_keys, keys, self.options.k)}
