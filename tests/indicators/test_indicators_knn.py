"""kNN on the real bundled all-MiniLM-L6-v2 against brute force; the IVF path on vectors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from instructmining.indicators import IndicatorOptions, compute_indicators
from instructmining.indicators.knn import kth_distances, texts_of
from instructmining.indicators.neighbours import NeighbourIndex
from instructmining.models.loader import load_embedder


def _brute_force(queries: pd.DataFrame, reference: pd.DataFrame, k: int) -> list[float]:
    """1 - cosine to the k-th nearest reference text, ignoring copies of the query's text."""
    model = load_embedder("all-minilm-l6-v2", "cpu")
    q_texts, r_texts = texts_of(queries), texts_of(reference)
    q = model.encode(q_texts, normalize_embeddings=True)
    r = model.encode(r_texts, normalize_embeddings=True)
    out = []
    for i, text in enumerate(q_texts):
        sims = sorted(
            (float(q[i] @ r[j]) for j in range(len(r)) if r_texts[j] != text), reverse=True
        )
        out.append(1.0 - sims[k - 1])
    return out


@pytest.mark.slow
def test_knn_on_the_pool_matches_brute_force(sample_pool, tmp_path):
    options = IndicatorOptions(bf16=False, k=6)
    table = compute_indicators(sample_pool, "knn", options, cache_dir=tmp_path, progress=False)
    assert list(table.columns) == ["id", "knn6"]
    expected = _brute_force(sample_pool, sample_pool, 6)
    np.testing.assert_allclose(table["knn6"], expected, atol=1e-5)
    # the first and last records share their text: neither is the other's neighbour
    assert texts_of(sample_pool.iloc[[0]]) == texts_of(sample_pool.iloc[[32]])
    assert table["knn6"].iloc[0] == pytest.approx(table["knn6"].iloc[32], abs=1e-6)
    assert table["knn6"].iloc[0] > 0.05


@pytest.mark.slow
def test_knn_against_a_reference_file(sample_pool, tmp_path):
    reference, queries = sample_pool.iloc[8:], sample_pool.iloc[:8]
    path = tmp_path / "reference.parquet"
    reference.to_parquet(path)
    options = IndicatorOptions(bf16=False, k=3, knn_reference=path)
    table = compute_indicators(queries, "knn", options, cache_dir=tmp_path, progress=False)
    np.testing.assert_allclose(table["knn3"], _brute_force(queries, reference, 3), atol=1e-5)
    bf16 = IndicatorOptions(k=3, knn_reference=path)
    close = compute_indicators(queries, "knn", bf16, cache_dir=tmp_path, progress=False)
    assert (close["knn3"] - table["knn3"]).abs().max() < 0.01


def test_ivf_index_meets_its_recall_target_and_returns_exact_similarities():
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(50, 32))
    vectors = centres[rng.integers(0, 50, 6000)] + 0.7 * rng.normal(size=(6000, 32))
    vectors = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
    index = NeighbourIndex(vectors, exact_max=1000)
    assert index.method == "ivf"
    recall = index.tune(vectors, 7)
    assert recall >= 0.95
    exact = NeighbourIndex(vectors, exact_max=10_000)
    keys = np.array([str(i) for i in range(len(vectors))])
    queries = vectors[:300]
    sims, found = index.search(queries, 7)
    # the lists are 8-bit quantised, but what comes back is re-scored on the exact vectors
    np.testing.assert_allclose(sims, np.einsum("qd,qkd->qk", queries, vectors[found]), atol=1e-5)
    approx = kth_distances(sims, found, keys, list(keys[:300]), 6)
    truth = kth_distances(*exact.search(queries, 7), keys, list(keys[:300]), 6)
    close = np.isclose(approx, truth, atol=1e-6)
    assert close.mean() >= 0.9  # a missed neighbour moves a value; most stay exact
    assert (np.array(approx) >= np.array(truth) - 1e-6).all()  # approximate never nearer
