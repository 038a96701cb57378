"""Nearest-neighbour search over unit vectors with FAISS: exact when small, IVF when large.

Exact inner-product search costs n² dot products, a few minutes at 100k on two cores; above a
size threshold an inverted-file index is used, and its recall is measured on a sample of
queries against exact search, probing more lists until the recall target is met. The lists hold
8-bit scalar-quantised vectors (a quarter of the bytes to scan, which is what IVF search spends
its time on) and FAISS's refinement step re-scores the best candidates on the exact vectors, so
every similarity returned is exact: only which neighbours are found can differ (the recall).
"""

from __future__ import annotations

import math

import faiss
import numpy as np
import torch

SAMPLE = 256  # queries used to measure recall
START_PROBES = 16
REFINE_FACTOR = 2  # quantised candidates re-scored exactly per neighbour asked for


class NeighbourIndex:
    """Inner-product search over `vectors`; `method` is "exact" or "ivf"."""

    def __init__(self, vectors: np.ndarray, exact_max: int, seed: int = 0) -> None:
        faiss.omp_set_num_threads(torch.get_num_threads())
        self.vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        n, dim = self.vectors.shape
        self.recall: float | None = None
        if n <= exact_max:
            self.method = "exact"
            self.index = faiss.IndexFlatIP(dim)
        else:
            self.method = "ivf"
            nlist = int(4 * math.sqrt(n))
            self.ivf = faiss.IndexIVFScalarQuantizer(
                faiss.IndexFlatIP(dim),
                dim,
                nlist,
                faiss.ScalarQuantizer.QT_8bit,
                faiss.METRIC_INNER_PRODUCT,
            )
            rng = np.random.default_rng(seed)
            train = self.vectors[rng.choice(n, size=min(n, 40 * nlist), replace=False)]
            self.ivf.cp.seed = seed
            self.ivf.train(train)
            self.ivf.nprobe = min(START_PROBES, nlist)
            self.index = faiss.IndexRefineFlat(self.ivf)
            self.index.k_factor = REFINE_FACTOR
        self.index.add(self.vectors)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(similarities, positions) of the k best matches; position -1 when fewer exist."""
        return self.index.search(np.ascontiguousarray(queries, dtype=np.float32), k)

    def tune(self, queries: np.ndarray, k: int, target: float = 0.95, seed: int = 0) -> float:
        """Recall@k of sampled `queries` against exact search; IVF probes more to reach `target`."""
        if self.method == "exact":
            self.recall = 1.0
            return self.recall
        rng = np.random.default_rng(seed)
        sample = queries[rng.choice(len(queries), size=min(SAMPLE, len(queries)), replace=False)]
        k = min(k, len(self.vectors))
        exact = np.argpartition(-(sample @ self.vectors.T), k - 1, axis=1)[:, :k]
        while True:
            _, found = self.search(sample, k)
            hits = sum(len(set(f) & set(e)) for f, e in zip(found, exact, strict=True))
            self.recall = hits / exact.size
            if self.recall >= target or self.ivf.nprobe >= self.ivf.nlist:
                return self.recall
            self.ivf.nprobe = min(self.ivf.nprobe * 2, self.ivf.nlist)
