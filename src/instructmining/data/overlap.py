"""Contamination: pool examples that repeat evaluation items.

A pool example whose prompt is an evaluation item (exactly, after normalising case, punctuation
and spacing, or nearly, by MinHash over word n-grams) makes every loss comparison on that item
meaningless: fine-tuning on it teaches the answer. Near duplicates are found with datasketch's
MinHash LSH and kept when their estimated Jaccard similarity reaches the threshold.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pandas as pd

OVERLAP_COLUMNS = ["pool_id", "eval_set", "eval_id", "kind", "similarity"]
NUM_PERM = 128
NGRAM = 5

_WORD = re.compile(r"\w+")


def prompt_text(table: pd.DataFrame) -> pd.Series:
    """Instruction and input: the part of an evaluation item a model is asked."""
    extra = table["input"].fillna("") if "input" in table.columns else ""
    return table["instruction"].fillna("").astype(str) + "\n" + extra


def normalised(text: str) -> str:
    """Lower case, NFKC, words only, single spaces: formatting differences do not hide a copy."""
    return " ".join(_WORD.findall(unicodedata.normalize("NFKC", text).lower()))


def _shingles(text: str, ngram: int) -> set[str]:
    words = text.split()
    size = min(ngram, len(words)) or 1
    return {" ".join(words[i : i + size]) for i in range(max(len(words) - size + 1, 1))}


def minhash(text: str, ngram: int = NGRAM, num_perm: int = NUM_PERM):  # noqa: ANN201
    """datasketch's MinHash of a normalised text's word n-grams: contamination checks and the
    pool's own deduplication (`select --dedup minhash`) compare texts the same way."""
    from datasketch import MinHash

    signature = MinHash(num_perm=num_perm, seed=1)
    signature.update_batch([s.encode("utf-8") for s in _shingles(text, ngram)])
    return signature


def find_overlap(
    pool: pd.DataFrame,
    evals: dict[str, pd.DataFrame],
    threshold: float = 0.8,
    ngram: int = NGRAM,
    num_perm: int = NUM_PERM,
) -> pd.DataFrame:
    """One row per (pool example, evaluation item) pair that is an exact or near duplicate."""
    from datasketch import MinHashLSH

    pool_text = [normalised(t) for t in prompt_text(pool)]
    exact_index: dict[str, list[str]] = {}
    for pid, text in zip(pool["id"].astype(str), pool_text, strict=True):
        exact_index.setdefault(text, []).append(pid)
    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    signatures = {}
    for pid, text in zip(pool["id"].astype(str), pool_text, strict=True):
        if text and pid not in signatures:
            signatures[pid] = minhash(text, ngram, num_perm)
            lsh.insert(pid, signatures[pid])
    rows = []
    for name, items in evals.items():
        for eid, text in zip(
            items["id"].astype(str), map(normalised, prompt_text(items)), strict=True
        ):
            if not text:
                continue
            exact = set(exact_index.get(text, []))
            rows += [(pid, name, eid, "exact", 1.0) for pid in sorted(exact)]
            signature = minhash(text, ngram, num_perm)
            for pid in sorted(set(lsh.query(signature)) - exact):
                similarity = float(signature.jaccard(signatures[pid]))
                if similarity >= threshold:
                    rows.append((pid, name, eid, "near", similarity))
    return pd.DataFrame(rows, columns=OVERLAP_COLUMNS)


def drop_overlap(pool: pd.DataFrame, found: pd.DataFrame) -> pd.DataFrame:
    """The pool without any example that duplicates an evaluation item."""
    return pool[~pool["id"].astype(str).isin(set(found["pool_id"]))].reset_index(drop=True)


def overlap_counts(pool: pd.DataFrame, found: pd.DataFrame) -> dict[str, int]:
    """What a user needs to judge the contamination: examples affected, by kind and eval set."""
    by_set = found.groupby("eval_set")["pool_id"].nunique().to_dict() if len(found) else {}
    return {
        "pool_examples": int(len(pool)),
        "contaminated": int(found["pool_id"].nunique()),
        "exact": int(found.loc[found["kind"] == "exact", "pool_id"].nunique()),
        "near": int(found.loc[found["kind"] == "near", "pool_id"].nunique()),
        **{f"in_{name}": int(n) for name, n in by_set.items()},
    }


def measure_overlap(
    pool: pd.DataFrame, eval_files: dict[str, Path], threshold: float = 0.8
) -> tuple[pd.DataFrame, dict[str, int]]:
    """The overlapping pairs (`find_overlap`) of the pool with each named evaluation file, and
    their counts: measured one way by the `overlap` command and the pipeline's pool stage."""
    from instructmining.data.pool import read_examples

    evals = {name: read_examples(path) for name, path in eval_files.items()}
    found = find_overlap(pool, evals, threshold=threshold)
    return found, overlap_counts(pool, found)
