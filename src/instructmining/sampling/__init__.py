"""Subsets of the pool with Dirichlet-drawn source mixtures."""

from instructmining.sampling.mixtures import allocate, largest_remainder
from instructmining.sampling.subsets import DEFAULT_ALPHA, sample_subsets, subset_name

__all__ = ["DEFAULT_ALPHA", "allocate", "largest_remainder", "sample_subsets", "subset_name"]
