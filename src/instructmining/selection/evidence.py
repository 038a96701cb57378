"""Selection inside the evidence: the best predicted selection that lies where experiments were.

A rule is fitted on a few subsets' mean indicators. Its own top n is the most extreme selection
the pool allows: a corner no experiment tested, where the rule is extrapolated and, measured on
held-out items, does not beat random (issue 25). So `select --rule` chooses among candidate
selections of n instead: the rule's top n, the rule's top share filled up at random, the
rule's ranking blurred by noise, weightings of the standardised indicators near the rule's,
random selections, and blends of the rule's top share with each tested subset's examples. Of
those whose indicator means lie inside the tested region it takes the lowest predicted loss.

The tested region is the convex hull of the tested subsets' mean indicators, in the design's
units: each rule indicator centred on its mean and divided by its standard deviation over the
pool's examples, as `sample` standardises its design columns. Why the hull: a linear rule's
prediction at a point inside it is a weighted average of its predictions at tested subsets, so it
interpolates between measured losses; a Mahalanobis ellipsoid around the tested means would also
admit corners between tested subsets that no experiment came near. A selection is inside when
its mean vector is a convex combination of the tested means (one small linear program).

The output says how far the chosen selection is from the nearest tested subset (Euclidean, in
those standardised units) and, for an OLS rule, the 95% prediction interval of its log loss
from the fit's coefficient covariance and residual variance (stored by `fit` as `evidence`).
A rule without that record (a published rule, or one fitted elsewhere) has no known region:
the top n is taken and labelled so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from instructmining.errors import UserError
from instructmining.rule.model import Rule

INSIDE = "inside the evidence"
EXTRAPOLATION = "extrapolation"
NO_EVIDENCE = "no evidence region known"
NONE_INSIDE = "nearest to the evidence"

SHARES = (0.9, 0.75, 0.6, 0.5, 0.4, 0.25, 0.1)  # of n taken from the rule's top
BLEND_SHARES = (0.05, 0.1, 0.2, 0.3, 0.5, 0.75)  # of n from the rule's top, the rest tested
BEST_TESTED = 4  # tested subsets (lowest mean score) mixed pairwise
TEMPERATURES = (0.25, 0.5, 1.0, 2.0, 4.0)  # noise added to the rule's standardised score
SPREADS = (0.5, 1.0)  # size of the random turn of the rule's weighting
DRAWS = 3  # random draws per setting
_HULL_TOLERANCE = 1e-7


@dataclass(frozen=True)
class Evidence:
    """What a rule's fit knows about where it was tested (`rule.info["evidence"]`)."""

    subsets: list[str]
    means: np.ndarray  # tested subsets x rule indicators, raw units
    cov: np.ndarray | None  # OLS covariance of (intercept, coefficients)
    scale: float | None  # residual variance
    df_resid: float | None

    @classmethod
    def of(cls, rule: Rule) -> Evidence | None:
        """The rule's evidence, or None when it has none for its own indicators."""
        data = rule.info.get("evidence")
        if not isinstance(data, dict) or data.get("columns") != rule.indicators:
            return None
        means = np.asarray(data.get("means") or [], dtype=float)
        if means.ndim != 2 or len(means) < 2 or means.shape[1] != len(rule.indicators):
            return None
        cov = data.get("cov")
        return cls(
            subsets=[str(s) for s in data.get("subsets") or range(len(means))],
            means=means,
            cov=np.asarray(cov, dtype=float) if cov else None,
            scale=data.get("scale"),
            df_resid=data.get("df_resid"),
        )


@dataclass
class Choice:
    """The chosen selection and what it rests on; `to_dict` goes into the scores' metadata."""

    kind: str
    candidate: str
    ids: list[str] = field(repr=False)
    predicted: float
    interval: tuple[float, float] | None = None
    nearest: str | None = None
    distance: float | None = None
    inside: bool | None = None
    candidates: int = 0
    inside_count: int = 0
    top_predicted: float | None = None  # the unconstrained top n's prediction
    symbol: str = "log L"

    def to_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in vars(self).items() if k != "ids"}
        out["interval"] = list(self.interval) if self.interval else None
        out["n"] = len(self.ids)
        return out

    def lines(self) -> list[str]:
        """Plain sentences for the terminal."""
        interval = (
            f" (95% prediction interval {self.interval[0]:.4f} to {self.interval[1]:.4f})"
            if self.interval
            else " (no prediction interval: not an OLS rule with a recorded fit)"
        )
        head = f"selection: {self.kind}: {self.candidate}; predicted {self.symbol} "
        loss = f", loss {math.exp(self.predicted):.4f}" if self.symbol == "log L" else ""
        out = [head + f"{self.predicted:.4f}{loss}{interval}"]
        if self.kind == NO_EVIDENCE:
            out.append(
                "the rule records no tested subsets (a published rule, or fitted before this "
                "was recorded), so the top n is taken; it may lie where the rule was never tested"
            )
            return out
        out.append(
            f"nearest tested subset {self.nearest}, {self.distance:.2f} sd away (Euclidean over "
            "the rule's indicators, each in standard deviations over the pool's examples)"
        )
        if self.kind == EXTRAPOLATION:
            where = "inside" if self.inside else "outside"
            out.append(
                f"extrapolation: the unconstrained top n, asked for with --extrapolate; its "
                f"means lie {where} the tested subsets' convex hull"
            )
        elif self.kind == NONE_INSIDE:
            out.append(
                f"none of {self.candidates} candidate selections lies inside the tested "
                "subsets' convex hull; the one nearest a tested subset is taken"
            )
        else:
            top = (
                ""
                if self.top_predicted is None
                else f"; the rule's own top n would predict {self.top_predicted:.4f}, untested"
            )
            out.append(
                f"best of {self.inside_count} of {self.candidates} candidate selections inside "
                f"the tested subsets' convex hull{top}"
            )
        return out


def choose_selection(
    rule: Rule,
    values: pd.DataFrame,
    n: int,
    extrapolate: bool = False,
    tested: pd.DataFrame | None = None,
    seed: int = 0,
) -> Choice:
    """The selection of `n` examples `select --rule` keeps (see the module doc).

    `values` holds id and the rule's indicator columns for the pool's examples; `tested`
    (subset_id, id), when given, holds the tested subsets' examples for the blends and keeps
    exact copies of a tested subset out of the candidates. `extrapolate` takes the rule's top n
    whatever the evidence, labelled as an extrapolation."""
    x = values[rule.indicators].to_numpy(dtype=np.float64)
    valid = np.flatnonzero(np.isfinite(x).all(axis=1))
    if len(valid) < n:
        raise UserError(f"only {len(valid)} examples have every indicator of the rule; lower n")
    ids = values["id"].astype(str).to_numpy(dtype=object)[valid]
    x = x[valid]
    score = rule.predict(pd.DataFrame(x, columns=rule.indicators))
    order = np.lexsort((ids, score))  # the ranking's order: best score, then id
    top = order[:n]
    evidence = Evidence.of(rule)

    def predicted(members: list[np.ndarray]) -> np.ndarray:
        means = np.array([x[m].mean(axis=0) for m in members])
        return rule.predict(pd.DataFrame(means, columns=rule.indicators))

    top_loss = float(predicted([top])[0])
    if evidence is None:
        return Choice(NO_EVIDENCE, "the rule's top n", list(ids[top]), top_loss, symbol=_sym(rule))
    mu, sd = x.mean(axis=0), x.std(axis=0, ddof=1) if len(x) > 1 else np.ones(x.shape[1])
    sd = np.where(sd > 0, sd, 1.0)
    z, tested_z = (x - mu) / sd, (evidence.means - mu) / sd
    if extrapolate:
        names, members = ["the rule's top n"], [top]
    else:
        names, members = _candidates(rule, z, sd, score, order, n, ids, tested, evidence, seed)
    losses = predicted(members)
    points = np.array([z[m].mean(axis=0) for m in members])
    inside = inside_hull(points, tested_z)
    gaps = np.linalg.norm(points[:, None, :] - tested_z[None, :, :], axis=2)
    if extrapolate:
        best, kind = 0, EXTRAPOLATION
    elif inside.any():
        best, kind = int(np.flatnonzero(inside)[np.argmin(losses[inside])]), INSIDE
    else:
        best, kind = int(np.argmin(gaps.min(axis=1))), NONE_INSIDE
    near = int(np.argmin(gaps[best]))
    raw = x[members[best]].mean(axis=0)
    return Choice(
        kind=kind,
        candidate=names[best],
        ids=list(ids[np.sort(members[best])]),
        predicted=float(losses[best]),
        interval=_interval(rule, evidence, raw, float(losses[best])),
        nearest=evidence.subsets[near],
        distance=float(gaps[best, near]),
        inside=bool(inside[best]),
        candidates=len(members),
        inside_count=int(inside.sum()),
        top_predicted=top_loss,
        symbol=_sym(rule),
    )


def _sym(rule: Rule) -> str:
    return rule.target.symbol


def inside_hull(points: np.ndarray, vertices: np.ndarray) -> np.ndarray:
    """Whether each point is a convex combination of `vertices` (rows): a feasibility LP."""
    from scipy.optimize import linprog

    k = len(vertices)
    a_eq = np.vstack([vertices.T, np.ones(k)])
    found = []
    for point in points:
        # Slack t >= |A w - b| per equation, minimised: zero (within tolerance) means inside.
        m = len(a_eq)
        c = np.concatenate([np.zeros(k), np.ones(m)])
        a_ub = np.block([[a_eq, -np.eye(m)], [-a_eq, -np.eye(m)]])
        b = np.concatenate([point, [1.0]])
        result = linprog(c, A_ub=a_ub, b_ub=np.concatenate([b, -b]), bounds=(0, None))
        found.append(bool(result.status == 0 and result.fun <= _HULL_TOLERANCE * m))
    return np.array(found, dtype=bool)


def _interval(
    rule: Rule, evidence: Evidence, raw: np.ndarray, centre: float
) -> tuple[float, float] | None:
    """95% OLS prediction interval of a new subset's log loss at mean indicators `raw`."""
    if rule.model != "ols" or evidence.cov is None or not evidence.scale or not evidence.df_resid:
        return None
    from scipy.stats import t

    x0 = np.concatenate([[1.0], raw])
    spread = float(np.sqrt(x0 @ evidence.cov @ x0 + evidence.scale))
    half = float(t.ppf(0.975, evidence.df_resid)) * spread
    return centre - half, centre + half


def _candidates(
    rule: Rule,
    z: np.ndarray,
    sd: np.ndarray,
    score: np.ndarray,
    order: np.ndarray,
    n: int,
    ids: np.ndarray,
    tested: pd.DataFrame | None,
    evidence: Evidence,
    seed: int,
) -> tuple[list[str], list[np.ndarray]]:
    """Candidate selections (row positions) around the rule's own ordering, each distinct and
    none an exact copy of a tested subset."""
    rng = np.random.default_rng(seed)
    size = len(z)
    found: list[tuple[str, np.ndarray]] = [("the rule's top n", order[:n])]
    for share in SHARES:
        k = int(round(share * n))
        rest = order[k:]
        for _ in range(DRAWS):
            fill = rng.choice(rest, size=n - k, replace=False)
            found.append(
                (f"the rule's top {share:.0%} + random", np.concatenate([order[:k], fill]))
            )
    spread = (score - score.mean()) / (score.std() or 1.0)
    for temperature in TEMPERATURES:
        for _ in range(DRAWS):
            noisy = spread + temperature * rng.standard_normal(size)
            found.append((f"the rule's ranking + noise {temperature:g}", np.argsort(noisy)[:n]))
    if rule.ensemble is None and rule.coefficients:
        # The rule's weighting of the standardised indicators: raw coefficient x pool sd.
        weights = np.array([rule.coefficients[c] for c in rule.indicators]) * sd
        weights = weights / (np.linalg.norm(weights) or 1.0)
        for turn in SPREADS:
            for _ in range(DRAWS):
                w = weights + turn * rng.standard_normal(len(weights)) / np.sqrt(len(weights))
                found.append((f"a weighting near the rule's ({turn:g})", np.argsort(z @ w)[:n]))
    for _ in range(DRAWS):
        found.append(("random", rng.choice(size, size=n, replace=False)))
    found += _blends(order, n, ids, tested, evidence, rng, score)
    return _distinct(found, ids, tested)


def _blends(
    order: np.ndarray,
    n: int,
    ids: np.ndarray,
    tested: pd.DataFrame | None,
    evidence: Evidence,
    rng: np.random.Generator,
    score: np.ndarray,
) -> list[tuple[str, np.ndarray]]:
    """Selections between the rule's top and the tested subsets: the rule's top share with the
    rest from one tested subset's examples (its best by the rule first, random examples where it
    has too few), and two of the best tested subsets' examples mixed, each best by the rule."""
    if tested is None:
        return []
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    where = pd.Series(np.arange(len(ids)), index=ids)
    members = {}
    for name, group in tested.astype({"subset_id": str, "id": str}).groupby("subset_id")["id"]:
        rows = where.reindex(group.unique()).dropna().to_numpy(dtype=np.int64)
        if name in evidence.subsets and len(rows):
            members[name] = rows[np.argsort(rank[rows])]

    def fill(head: np.ndarray, rows: np.ndarray) -> np.ndarray:
        rest = rows[~np.isin(rows, head)][: n - len(head)]
        if len(head) + len(rest) < n:
            spare = np.setdiff1d(np.arange(len(ids)), np.concatenate([head, rest]))
            rest = np.concatenate([rest, rng.choice(spare, n - len(head) - len(rest), False)])
        return np.concatenate([head, rest])

    out = []
    for name, rows in members.items():
        out.append((f"tested subset {name}'s best n", fill(rows[:0], rows)))
        for share in BLEND_SHARES:
            head = order[: int(round(share * n))]
            out.append((f"the rule's top {share:.0%} + tested subset {name}", fill(head, rows)))
    best = sorted(members, key=lambda k: float(score[members[k]].mean()))[:BEST_TESTED]
    for i, first in enumerate(best):
        for second in best[i + 1 :]:
            for share in SHARES:
                k = int(round(share * n))
                head = members[first][:k]
                out.append(
                    (f"tested subsets {first} {share:.0%} + {second}", fill(head, members[second]))
                )
                # The same shares drawn at random: near the segment between the two subsets.
                head = rng.permutation(members[first])[:k]
                out.append(
                    (
                        f"tested subsets {first} {share:.0%} + {second}, drawn at random",
                        fill(head, rng.permutation(members[second])),
                    )
                )
    return out


def _distinct(
    found: list[tuple[str, np.ndarray]], ids: np.ndarray, tested: pd.DataFrame | None
) -> tuple[list[str], list[np.ndarray]]:
    """Candidates without repeats, and without exact copies of a tested subset (measured
    already: selecting one again adds nothing)."""
    seen = set()
    if tested is not None:
        for _, members in tested.astype({"id": str}).groupby("subset_id", sort=False)["id"]:
            seen.add(frozenset(members))
    names, members = [], []
    for name, rows in found:
        key = frozenset(ids[rows])
        if key not in seen:
            seen.add(key)
            names.append(name)
            members.append(np.asarray(rows, dtype=np.int64))
    return names, members
