"""The `selections` design: experiments in selection space, with random subsets among them.

A rule fitted on source mixtures or leaning subsets is later applied to a selection, the top n
of the pool by its score: a corner that no experiment tested. Here each subset is already a
selection, the top `size` examples of the pool under a random weighting w of the standardised
design columns z (w a random direction: random signs and magnitudes), as Meta-rater's proxy
runs are; a final selection by a linear rule then lies between tested selections. Every other
selection (and a pure one that kept coming too close to the others) adds noise of a random
temperature t (up to the design's `temperature`) to its score, so the evidence also covers the
ground between the extremes and random:

    score = z @ w + t * noise,   noise ~ N(0, 1) per example from the stored `noise_seed`

over the examples sorted by id. A share of the subsets (`random_share`, at least one) are plain
random subsets, so random itself is inside the evidence. No two subsets share more than
`max_overlap` of their members (Jaccard |A & B| / |A | B|): a draw that would is redrawn.

Which weighting made each subset is kept in the design info (`read_design_info`) under
`origins`, keyed by subset_id: `{"kind": "selection", "weights": {column: w}, "temperature": t,
"noise_seed": s or null}` or `{"kind": "random"}`; `origins_table` reads it as a table.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from instructmining.errors import UserError, param
from instructmining.sampling.spread import IndicatorSpace

DEFAULT_RANDOM_SHARE = 1 / 6
DEFAULT_MAX_OVERLAP = 0.5
_TRIES = 200  # draws per subset before the pool counts as unable to give a distinct one
_SEEDS = 2**31


def check_settings(random_share: float, max_overlap: float) -> None:
    """Both shares must lie strictly between 0 and 1 (random_share 0 would leave random out of
    the evidence; max_overlap 1 would allow repeated subsets)."""
    if not 0 < random_share < 1:
        raise UserError(f"{param('random_share')} must be above 0 and below 1 (got {random_share})")
    if not 0 < max_overlap < 1:
        raise UserError(f"{param('max_overlap')} must be above 0 and below 1 (got {max_overlap})")


def random_count(total: int, random_share: float) -> int:
    """Random subsets in a design of `total`: the share rounded half up, at least one, and at
    most all but one once there are two subsets or more."""
    return max(1, min(math.floor(total * random_share + 0.5), total - 1))


def selection_scores(space: IndicatorSpace, origin: dict[str, Any]) -> np.ndarray:
    """Each example's score under a selection's weighting (see module doc)."""
    weights = np.array([origin["weights"][c] for c in space.columns])
    score = space.z @ weights
    if origin.get("noise_seed") is not None:
        noise = np.random.default_rng(origin["noise_seed"]).standard_normal(len(space.ids))
        score = score + origin["temperature"] * noise
    return score


def top_rows(score: np.ndarray, size: int) -> np.ndarray:
    """Row positions of the `size` highest scores (ties to the lower id), sorted."""
    return np.sort(np.argsort(-score, kind="stable")[:size])


def draw_selections(
    space: IndicatorSpace,
    size: int,
    count: int,
    n_random: int,
    rng: np.random.Generator,
    temperature: float,
    max_overlap: float,
    taken: Sequence[np.ndarray] = (),
) -> tuple[list[np.ndarray], list[dict[str, Any]]]:
    """`count` subsets (row positions), `n_random` of them random and spread evenly among the
    selections, none overlapping another or a `taken` subset by more than `max_overlap`;
    returns the subsets and their origins."""
    total = len(space.ids)
    members = np.zeros((len(taken) + count, total), dtype=bool)
    for i, rows in enumerate(taken):
        members[i, rows] = True
    sizes = [len(rows) for rows in taken]
    random_at = {int(j * count / n_random) for j in range(n_random)} if n_random else set()
    found, origins = [], []
    for k in range(count):
        noisy = (k - sum(j < k for j in random_at)) % 2 == 1
        for attempt in range(_TRIES):
            if k in random_at:
                origin = {"kind": "random"}
                rows = np.sort(rng.choice(total, size=size, replace=False))
            else:
                # a pure selection too close to the others after half the tries gets noise
                noise = temperature if noisy or attempt >= _TRIES // 2 else 0.0
                origin = _weighting(space, rng, noise)
                rows = top_rows(selection_scores(space, origin), size)
            shared = members[: len(sizes), rows].sum(axis=1)
            if not (shared / (np.array(sizes) + size - shared) > max_overlap).any():
                break
        else:
            raise UserError(
                f"could draw only {k} of {count} subsets of {size} from the {total} examples "
                f"with every design column that share at most {max_overlap:.0%} of their "
                f"members (Jaccard) with another subset; ask for fewer or smaller subsets or "
                f"raise {param('max_overlap')}"
            )
        members[len(sizes), rows] = True
        sizes.append(size)
        found.append(rows)
        origins.append(origin)
    return found, origins


def _weighting(space: IndicatorSpace, rng: np.random.Generator, temperature: float) -> dict:
    """A random direction of the design columns and, with a temperature, the noise beside it."""
    direction = rng.standard_normal(len(space.columns))
    direction /= np.linalg.norm(direction) or 1.0
    noisy = temperature > 0
    return {
        "kind": "selection",
        "weights": {c: float(w) for c, w in zip(space.columns, direction, strict=True)},
        "temperature": float(rng.uniform(0, temperature)) if noisy else 0.0,
        "noise_seed": int(rng.integers(_SEEDS)) if noisy else None,
    }


def origins_table(info: dict[str, Any]) -> pd.DataFrame:
    """One row per subset of a selections design: subset_id, kind (selection or random),
    temperature and one `w_<column>` per design column (NaN for random subsets)."""
    columns = info.get("columns") or []
    rows = [
        {
            "subset_id": sid,
            "kind": origin["kind"],
            "temperature": origin.get("temperature", float("nan")),
            **{f"w_{c}": origin.get("weights", {}).get(c, float("nan")) for c in columns},
        }
        for sid, origin in (info.get("origins") or {}).items()
    ]
    return pd.DataFrame(
        rows, columns=["subset_id", "kind", "temperature"] + [f"w_{c}" for c in columns]
    )
