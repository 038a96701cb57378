"""Subsets of the pool: Dirichlet source mixtures, spread, D-optimal or selections designs,
sequential adds."""

from instructmining.sampling.design import d_efficiency, design_figures, exchange
from instructmining.sampling.designs import (
    DESIGNS,
    Design,
    build_design,
    design_stage,
    read_design_info,
    write_design,
)
from instructmining.sampling.mixtures import allocate, largest_remainder
from instructmining.sampling.selections import origins_table
from instructmining.sampling.sequential import add_subsets
from instructmining.sampling.spread import DEFAULT_TEMPERATURE
from instructmining.sampling.subsets import DEFAULT_ALPHA, sample_subsets, subset_name

__all__ = [
    "DEFAULT_ALPHA",
    "DEFAULT_TEMPERATURE",
    "DESIGNS",
    "Design",
    "add_subsets",
    "allocate",
    "build_design",
    "d_efficiency",
    "design_figures",
    "design_stage",
    "exchange",
    "largest_remainder",
    "origins_table",
    "read_design_info",
    "sample_subsets",
    "subset_name",
    "write_design",
]
