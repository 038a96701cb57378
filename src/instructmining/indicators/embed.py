"""Sentence embeddings for kNN, cached by text content and model, computed length-sorted in bf16.

A vector depends only on its text and the embedder, so it is cached by a hash of the text: the
pool and a separate reference file share entries, and a growing pool embeds only its new texts.
"""

from __future__ import annotations

import hashlib

import numpy as np
import torch

from instructmining.indicators.base import RunContext
from instructmining.models.loader import load_embedder, model_identity

CHUNK = 512  # texts per cache commit


def text_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def encode_texts(
    model: object, texts: list[str], ctx: RunContext, batch_size: int = 64
) -> np.ndarray:
    """Unit-length float32 embeddings (normalised after the bf16 forward, in fp32)."""
    with ctx.autocast():
        vectors = model.encode(  # type: ignore[attr-defined]
            texts, batch_size=batch_size, convert_to_tensor=True, show_progress_bar=False
        )
    vectors = vectors.float().cpu().numpy()
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


def embed(ctx: RunContext, name: str, texts: list[str]) -> np.ndarray:
    """Embeddings of `texts` (one row each), computing only those not in the cache."""
    model_key = f"{model_identity(name)}|{ctx.precision}"
    keys = [text_key(t) for t in texts]
    first = dict(zip(keys, texts, strict=True))
    vectors = ctx.cache.get_vectors(model_key, first)
    missing = sorted((k for k in first if k not in vectors), key=lambda k: (len(first[k]), k))
    if missing:
        model = ctx.model(load_embedder, name)
        task = ctx.add_task("embed", total=len(missing))
        with torch.inference_mode():
            for start in range(0, len(missing), CHUNK):
                chunk = missing[start : start + CHUNK]
                new = encode_texts(model, [first[k] for k in chunk], ctx)
                ctx.cache.put_vectors(model_key, chunk, new)
                vectors.update(zip(chunk, new, strict=True))
                ctx.advance(task, len(chunk))
    return np.stack([vectors[k] for k in keys]).astype(np.float32)
