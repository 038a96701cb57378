"""The designs of `sample --design`, their figures, and the mixtures table that keeps them.

- `dirichlet`: random subsets with Dirichlet source mixtures (the paper's sampling).
- `spread`: each subset leans along a random direction of standardised indicator space.
- `d-optimal`: many candidates from both generators, then a Fedorov exchange that maximises
  det(X'X) of the chosen subsets' mean indicators with an intercept.
- `selections`: each subset is the top `size` of the pool under a random weighting of the
  standardised columns, plus a share of plain random subsets (`sampling.selections`); which
  weighting made each subset is kept in the info under `origins`.

Every design is judged next to a Dirichlet design of the same N, size and seed, and both sets of
figures go into the Parquet metadata of the mixtures table (`read_design_info`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from instructmining.errors import UserError, param
from instructmining.sampling.design import design_figures, exchange, greedy
from instructmining.sampling.selections import (
    DEFAULT_MAX_OVERLAP,
    DEFAULT_RANDOM_SHARE,
    check_settings,
    draw_selections,
    random_count,
)
from instructmining.sampling.spread import (
    DEFAULT_TEMPERATURE,
    IndicatorSpace,
    check_room,
    indicator_space,
    mixture_subset,
    spread_subset,
)
from instructmining.sampling.subsets import DEFAULT_ALPHA, sample_subsets, subset_name
from instructmining.storage import write_parquet
from instructmining.workspace import mixtures_beside

DESIGNS = ("dirichlet", "spread", "d-optimal", "selections")
_METADATA_KEY = b"instructmining.design"
_TEMPERATURES = (0.25, 0.5, 1.0, 2.0)  # candidates from near-extreme to near-random


@dataclass
class Design:
    """Subsets (subset_id, id), their realised source shares, and the design's settings and
    figures (JSON-ready)."""

    subsets: pd.DataFrame
    mixtures: pd.DataFrame
    info: dict[str, Any]


def build_design(
    pool: pd.DataFrame,
    n_subsets: int,
    size: int,
    seed: int,
    design: str = "dirichlet",
    indicators: pd.DataFrame | None = None,
    columns: Sequence[str] | None = None,
    alpha: float = DEFAULT_ALPHA,
    sources: Sequence[str] | None = None,
    temperature: float = DEFAULT_TEMPERATURE,
    mix_sources: bool = False,
    candidates: int | None = None,
    random_share: float = DEFAULT_RANDOM_SHARE,
    max_overlap: float = DEFAULT_MAX_OVERLAP,
) -> Design:
    """`n_subsets` subsets of `size` distinct examples by the named design (see module doc)."""
    if design not in DESIGNS:
        raise UserError(f"unknown design {design!r}; choose one of {', '.join(DESIGNS)}")
    if not temperature >= 0:
        raise UserError(f"the temperature must be zero or positive (got {temperature})")
    if design == "selections":
        check_settings(random_share, max_overlap)
        if n_subsets < 2:
            raise UserError(
                f"the selections design needs at least 2 subsets, one of them random (got "
                f"{n_subsets})"
            )
    # Validates sizes, seed, alpha and sources, and is the reference every design is judged by.
    reference, reference_mix = sample_subsets(pool, n_subsets, size, seed, alpha, sources)
    info: dict[str, Any] = {
        "design": design,
        "n_subsets": n_subsets,
        "size": size,
        "seed": seed,
        "alpha": alpha,
        "sources": list(sources) if sources else None,
        "temperature": temperature,
        "mix_sources": mix_sources,
    }
    if design == "selections":
        info |= {"random_share": random_share, "max_overlap": max_overlap}
    if indicators is None:
        if design != "dirichlet":
            raise UserError(
                f"the {design} design needs an indicators table ({param('indicators')})"
            )
        return Design(reference, reference_mix, info)
    try:
        space = restrict(indicator_space(pool, indicators, columns), sources)
    except UserError as exc:
        if design != "dirichlet" or columns:
            raise
        # Figures are a bonus for the default design: an odd indicators table must not stop it.
        return Design(reference, reference_mix, info | {"figures_skipped": str(exc)})
    info["columns"] = space.columns
    if design != "dirichlet":
        check_room(space, size)
    info["dirichlet"] = design_figures(subset_means(space, reference), space.columns)
    if design == "dirichlet":
        info["figures"] = info["dirichlet"]
        return Design(reference, reference_mix, info)
    rng = np.random.default_rng(seed)
    if design == "spread":
        mix = alpha if mix_sources else None
        members = _distinct(
            lambda: spread_subset(space, size, rng, temperature, mix, sources), n_subsets
        )
    elif design == "selections":
        n_random = random_count(n_subsets, random_share)
        members, origins = draw_selections(
            space, size, n_subsets, n_random, rng, temperature, max_overlap
        )
        info["origins"] = {subset_name(i, n_subsets): o for i, o in enumerate(origins)}
    else:
        pool_of = generate_candidates(
            space, size, rng, candidates or max(10 * n_subsets, 200), alpha, sources
        )
        if len(pool_of) < n_subsets:
            raise UserError(
                f"only {len(pool_of)} distinct candidate subsets of {size} could be drawn from "
                f"{len(space.ids)} examples with indicators; ask for fewer subsets"
            )
        means = space.means(pool_of)
        chosen, history = exchange(means, greedy(means, n_subsets))
        members = [pool_of[i] for i in chosen]
        info |= {"candidates": len(pool_of), "exchange_steps": len(history) - 1}
    names = [subset_name(i, n_subsets) for i in range(n_subsets)]
    subsets, mixtures = tables(space, members, names)
    info["figures"] = design_figures(space.means(members), space.columns)
    return Design(subsets, mixtures, info)


def restrict(space: IndicatorSpace, sources: Sequence[str] | None) -> IndicatorSpace:
    """The space's examples of the chosen sources only (all when none are named)."""
    if not sources:
        return space
    keep = np.isin(space.sources, list(sources))
    return IndicatorSpace(space.ids[keep], space.sources[keep], space.z[keep], space.columns)


def generate_candidates(
    space: IndicatorSpace,
    size: int,
    rng: np.random.Generator,
    count: int,
    alpha: float,
    sources: Sequence[str] | None = None,
    exclude: set[tuple[int, ...]] | None = None,
) -> list[np.ndarray]:
    """Distinct candidate subsets (row positions): a quarter Dirichlet mixtures, the rest spread
    at several temperatures, half of those within a Dirichlet source mixture."""
    seen = set(exclude or ())
    found: list[np.ndarray] = []
    for k in range(count * 3):  # duplicates are skipped; small pools run out of new ones
        if len(found) == count:
            break
        if k % 4 == 0:
            rows = mixture_subset(space, size, rng, alpha, sources)
        else:
            mix = alpha if k % 2 else None
            rows = spread_subset(space, size, rng, _TEMPERATURES[k % 8 // 2], mix, sources)
        key = tuple(rows.tolist())
        if key not in seen:
            seen.add(key)
            found.append(rows)
    return found


def subset_means(space: IndicatorSpace, subsets: pd.DataFrame) -> np.ndarray:
    """Mean standardised indicators of each subset (in order of first appearance), over its
    examples that have indicators."""
    known = pd.Series(np.arange(len(space.ids)), index=space.ids)
    rows = []
    for _, group in subsets.groupby("subset_id", sort=False):
        positions = known.reindex(group["id"].astype(str)).dropna().to_numpy(dtype=np.int64)
        rows.append(
            space.z[positions].mean(axis=0) if len(positions) else np.full(space.z.shape[1], np.nan)
        )
    return np.array(rows).reshape(-1, space.z.shape[1])


def tables(
    space: IndicatorSpace, members: Sequence[np.ndarray], names: Sequence[str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The subsets table and the realised source shares of subsets given as row positions."""
    subsets = pd.DataFrame(
        [(name, space.ids[i]) for name, rows in zip(names, members, strict=True) for i in rows],
        columns=["subset_id", "id"],
    )
    labels = sorted(set(space.sources))
    shares = [
        [name, *(float(np.mean(space.sources[rows] == s)) for s in labels)]
        for name, rows in zip(names, members, strict=True)
    ]
    return subsets, pd.DataFrame(shares, columns=["subset_id", *labels])


def _distinct(draw, n: int) -> list[np.ndarray]:
    """`n` subsets from `draw`, redrawing one that repeats an earlier subset."""
    found, seen = [], set()
    for _ in range(n * 20):
        rows = draw()
        key = tuple(rows.tolist())
        if key not in seen:
            seen.add(key)
            found.append(rows)
            if len(found) == n:
                return found
    raise UserError(
        f"could not draw {n} distinct subsets; raise the temperature or ask for fewer subsets"
    )


def write_design(design: Design, subsets_path: Path) -> Path:
    """Write the mixtures table (figures in its metadata) then the subsets table, each
    atomically; returns the mixtures path, `<subsets stem>_mixtures.parquet`."""
    mixtures_path = mixtures_beside(subsets_path)
    for path in (subsets_path, mixtures_path):  # before either is written: neither, not one
        if Path(path).is_dir():
            raise UserError(f"{path}: is a folder; give the name of a file to write")
    table = pa.Table.from_pandas(design.mixtures, preserve_index=False)
    metadata = {**(table.schema.metadata or {}), _METADATA_KEY: json.dumps(design.info)}
    write_parquet(table.replace_schema_metadata(metadata), mixtures_path)
    write_parquet(design.subsets, subsets_path)
    return mixtures_path


def design_stage(
    output: Path,
    pool: pd.DataFrame,
    n_subsets: int,
    size: int,
    seed: int,
    design: str = "dirichlet",
    indicators: pd.DataFrame | None = None,
    columns: Sequence[str] | None = None,
    alpha: float = DEFAULT_ALPHA,
    sources: Sequence[str] | None = None,
    temperature: float = DEFAULT_TEMPERATURE,
    mix_sources: bool = False,
    candidates: int | None = None,
    random_share: float = DEFAULT_RANDOM_SHARE,
    max_overlap: float = DEFAULT_MAX_OVERLAP,
    lock: AbstractContextManager[Any] | None = None,
) -> tuple[Design, Path]:
    """Build the design (`build_design`) and write its subsets to `output` with the mixtures
    table beside it (`write_design`), as `instructmining sample` and the pipeline's subsets
    stage both do; returns the design and the mixtures path.

    `lock` (entered only around the writing) is the output folder's lock for a caller that does
    not hold one already: a design that cannot be built fails before the folder is touched."""
    built = build_design(
        pool,
        n_subsets,
        size,
        seed,
        design,
        indicators,
        columns,
        alpha,
        sources,
        temperature,
        mix_sources,
        candidates,
        random_share,
        max_overlap,
    )
    with lock if lock is not None else nullcontext():
        mixtures_path = write_design(built, output)
    return built, mixtures_path


def read_design_info(mixtures_path: Path) -> dict[str, Any] | None:
    """The settings and figures `write_design` stored (None for a table without them)."""
    if not Path(mixtures_path).exists():
        return None
    metadata = pq.read_schema(mixtures_path).metadata or {}
    return json.loads(metadata[_METADATA_KEY]) if _METADATA_KEY in metadata else None


def figures_table(info: dict[str, Any]) -> pd.DataFrame:
    """Rows: D-efficiency, sd of each indicator's subset means, largest |correlation|;
    columns: this design and the Dirichlet design of the same N and size."""
    figures, reference = info.get("figures") or {}, info.get("dirichlet") or {}
    name = info["design"] if info["design"] != "dirichlet" else "this design"
    return pd.DataFrame(
        {
            "figure": list(figures),
            name: list(figures.values()),
            "dirichlet": [reference.get(k, float("nan")) for k in figures],
        }
    )
