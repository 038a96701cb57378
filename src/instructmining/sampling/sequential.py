"""Sequential design: add the subsets that most improve a workspace's design so far.

The subsets already in WS/subsets.parquet (run or waiting to run) are fixed rows of the design;
`add_subsets` draws fresh candidates and chooses `add` of them that most raise det(X'X) of the
whole design (`d`) or most lower the rule's prediction variance at the subsets it will be
applied to (`i`: the rule's top examples by WS/rule.json, or each indicator's extremes before a
rule exists). A `selections` design instead grows the same way it was drawn: fresh selections
and, while the design holds fewer than its share, random subsets (`sampling.selections`), the
criterion unused. New subsets are appended under new names, so `experiment` runs only them (it
skips finished runs by subset contents). The candidates' seed is derived from the seed and the
existing subsets, so rerunning after a kill before the subsets table was replaced adds the same
subsets.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from instructmining.errors import UserError, param
from instructmining.hashing import hash_object
from instructmining.sampling.design import criterion_for, design_figures, exchange, greedy
from instructmining.sampling.designs import (
    Design,
    generate_candidates,
    read_design_info,
    restrict,
    subset_means,
    tables,
    write_design,
)
from instructmining.sampling.selections import (
    DEFAULT_MAX_OVERLAP,
    DEFAULT_RANDOM_SHARE,
    draw_selections,
    random_count,
)
from instructmining.sampling.spread import (
    DEFAULT_TEMPERATURE,
    IndicatorSpace,
    check_room,
    indicator_space,
)
from instructmining.sampling.subsets import DEFAULT_ALPHA, sample_subsets, subset_name
from instructmining.storage import read_parquet
from instructmining.workspace import Workspace


@dataclass
class Addition:
    """What `add_subsets` appended and the whole design's figures after it."""

    new_ids: list[str]
    finished: int
    design: Design


def add_subsets(
    workspace: Path,
    add: int,
    criterion: str = "d",
    seed: int | None = None,
    columns: list[str] | None = None,
    candidates: int | None = None,
) -> Addition:
    """Append `add` subsets chosen for the design (see module doc); the caller holds the lock."""
    ws = Workspace(Path(workspace))
    if add < 1:
        raise UserError(f"{param('add')} must be at least 1 (got {add})")
    pool = read_parquet(ws.pool, required=["id", "source"])
    old = read_parquet(ws.subsets, required=["subset_id", "id"]).astype(
        {"subset_id": str, "id": str}
    )
    mixtures_path = ws.mixtures
    settings = read_design_info(mixtures_path) or {}
    size = int(settings.get("size") or old.groupby("subset_id").size().mode().iloc[0])
    alpha = float(settings.get("alpha") or DEFAULT_ALPHA)
    sources = settings.get("sources")
    seed = int(settings.get("seed", 0) if seed is None else seed)
    space = indicator_space(
        pool, read_parquet(ws.indicators, required=["id"]), columns or settings.get("columns")
    )
    space = restrict(space, sources)
    check_room(space, size)
    rng = np.random.default_rng(
        [seed, int(hash_object(sorted(zip(old.subset_id, old.id, strict=True)))[:8], 16)]
    )
    if settings.get("design") == "selections":
        chosen, new_origins = _selections(settings, space, old, size, add, rng)
        label = "selections"
    else:
        chosen = _exchanged(ws, space, old, size, add, rng, criterion, alpha, sources, candidates)
        new_origins = []
        label = settings.get("design", "dirichlet") + f" + sequential {criterion}"
    names = _new_names(set(old["subset_id"]), add)
    new_subsets, new_mix = tables(space, chosen, names)
    subsets = pd.concat([old, new_subsets], ignore_index=True)
    mixtures = _mixtures(mixtures_path, old, new_mix)
    n_total = subsets["subset_id"].nunique()
    reference, _ = sample_subsets(pool, n_total, size, seed, alpha, sources)
    info: dict[str, Any] = {
        **settings,
        "size": size,
        "alpha": alpha,
        "seed": seed,
        "sources": sources,
        "columns": space.columns,
        "n_subsets": n_total,
        "design": label,
        "figures": design_figures(subset_means(space, subsets), space.columns),
        "dirichlet": design_figures(subset_means(space, reference), space.columns),
    }
    if new_origins:
        kept = {k: v for k, v in settings.get("origins", {}).items() if k in set(old.subset_id)}
        info["origins"] = kept | dict(zip(names, new_origins, strict=True))
    design = Design(subsets, mixtures, info)
    write_design(design, ws.subsets)
    return Addition(names, _finished(ws, set(old["subset_id"])), design)


def _exchanged(
    ws: Workspace,
    space: IndicatorSpace,
    old: pd.DataFrame,
    size: int,
    add: int,
    rng: np.random.Generator,
    criterion: str,
    alpha: float,
    sources: list[str] | None,
    candidates: int | None,
) -> list[np.ndarray]:
    """Fresh candidates, then the `add` of them an exchange with the old subsets fixed keeps."""
    fixed = subset_means(space, old)
    fixed = fixed[np.isfinite(fixed).all(axis=1)]
    value = criterion_for(criterion, _reference(ws, space, size) if criterion == "i" else None)
    taken = {tuple(sorted(space.positions(g["id"]).tolist())) for _, g in _in_space(old, space)}
    fresh = generate_candidates(
        space, size, rng, candidates or max(20 * add, 200), alpha, sources, exclude=taken
    )
    if len(fresh) < add:
        raise UserError(f"only {len(fresh)} new candidate subsets could be drawn; add fewer")
    means = space.means(fresh)
    chosen, _ = exchange(means, greedy(means, add, value, fixed), value, fixed)
    return [fresh[i] for i in chosen]


def _selections(
    settings: dict[str, Any],
    space: IndicatorSpace,
    old: pd.DataFrame,
    size: int,
    add: int,
    rng: np.random.Generator,
) -> tuple[list[np.ndarray], list[dict[str, Any]]]:
    """`add` more subsets of a selections design: random ones while the design has fewer than
    its share of them, the rest selections, none too close to an old subset."""
    share = float(settings.get("random_share", DEFAULT_RANDOM_SHARE))
    max_overlap = float(settings.get("max_overlap", DEFAULT_MAX_OVERLAP))
    origins = settings.get("origins", {})
    ids = list(dict.fromkeys(old["subset_id"]))
    have = sum(origins.get(sid, {}).get("kind") == "random" for sid in ids)
    n_random = min(max(random_count(len(ids) + add, share) - have, 0), add)
    known = pd.Series(np.arange(len(space.ids)), index=space.ids)
    taken = [
        known.reindex(group["id"]).dropna().to_numpy(dtype=np.int64)
        for _, group in old.groupby("subset_id", sort=False)
    ]
    temperature = float(settings.get("temperature", DEFAULT_TEMPERATURE))
    return draw_selections(space, size, add, n_random, rng, temperature, max_overlap, taken)


def _in_space(subsets: pd.DataFrame, space: IndicatorSpace):
    """Subsets whose examples all have indicators (the others cannot repeat a candidate)."""
    known = set(space.ids)
    for sid, group in subsets.groupby("subset_id", sort=False):
        if set(group["id"]) <= known:
            yield sid, group


def _reference(ws: Workspace, space: IndicatorSpace, size: int) -> np.ndarray:
    """Where the rule will be applied: mean indicators of the rule's top `size`, 2x and 4x
    examples; before a rule exists, each indicator's top and bottom `size` examples."""
    from instructmining.rule import load_rule

    if ws.rule.exists():
        rule = load_rule(ws.rule)
        raw = read_parquet(ws.indicators, required=["id"]).astype({"id": str})
        table = raw.set_index("id").reindex(space.ids)
        if all(c in table.columns for c in rule.indicators):
            order = np.argsort(rule.predict(table), kind="stable")  # lower loss first
            tops = [order[: n * size] for n in (1, 2, 4) if n * size <= len(order)]
            return space.means(tops)
    ends = []
    for column in range(space.z.shape[1]):
        order = np.argsort(space.z[:, column], kind="stable")
        ends += [order[:size], order[-size:]]
    return space.means(ends)


def _new_names(taken: set[str], count: int) -> list[str]:
    names, index = [], len(taken)
    while len(names) < count:
        name = subset_name(index, index + 1)
        if name not in taken:
            names.append(name)
        index += 1
    return names


def _mixtures(path: Path, old: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """The stored shares of the existing subsets (rows of vanished subsets dropped) plus the
    new ones'; sources missing on either side count 0."""
    if path.exists():
        kept = read_parquet(path, required=["subset_id"])
        kept = kept[kept["subset_id"].astype(str).isin(set(old["subset_id"]))]
    else:
        kept = pd.DataFrame({"subset_id": list(dict.fromkeys(old["subset_id"]))})
    return pd.concat([kept, new], ignore_index=True).fillna(0.0)


def _finished(ws: Workspace, subset_ids: set[str]) -> int:
    """Subsets of the design so far with at least one finished run."""
    if not ws.runs.exists():
        return 0
    runs = read_parquet(ws.runs, required=["subset_id", "status"])
    done = runs.loc[runs["status"] == "ok", "subset_id"].astype(str)
    return int(done[done.isin(subset_ids)].nunique())
