"""D-efficiency, the exchange, and the designs of `sample --design`."""

from __future__ import annotations

import math

import numpy as np
import pytest
from design_data import COLUMNS, synthetic_pool
from hypothesis import given
from hypothesis import strategies as st

from instructmining.errors import UserError
from instructmining.sampling import (
    build_design,
    d_efficiency,
    design_figures,
    exchange,
    read_design_info,
    write_design,
)
from instructmining.sampling.design import criterion_for, greedy, with_intercept


def test_d_efficiency_matches_a_hand_worked_case():
    # X = [1, m] for m = 0, 1, 2: X'X / 3 = [[1, 1], [1, 5/3]], det = 2/3, p = 2.
    assert d_efficiency(np.array([[0.0], [1.0], [2.0]])) == pytest.approx(math.sqrt(2 / 3))
    # A 2x2 factorial at +-1 is orthogonal: X'X / N is the identity.
    factorial = np.array([[-1.0, -1.0], [1.0, -1.0], [-1.0, 1.0], [1.0, 1.0]])
    assert d_efficiency(factorial) == pytest.approx(1.0)
    # Collinear means cannot separate two coefficients.
    assert d_efficiency(np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]])) == 0.0


def test_design_figures_are_sd_and_largest_correlation():
    means = np.array([[0.0, 1.0], [1.0, 0.5], [2.0, 2.5], [3.0, 0.0]])
    figures = design_figures(means, ["a", "b"])
    assert figures["sd_a"] == pytest.approx(np.std(means[:, 0], ddof=1))
    assert figures["sd_b"] == pytest.approx(np.std(means[:, 1], ddof=1))
    assert figures["max_abs_corr"] == pytest.approx(abs(np.corrcoef(means.T)[0, 1]))


candidate_sets = st.integers(min_value=0, max_value=10_000).flatmap(
    lambda seed: st.tuples(
        st.just(seed),
        st.integers(min_value=6, max_value=30),
        st.integers(min_value=1, max_value=4),
        st.sampled_from(["d", "i"]),
    )
)


@given(candidate_sets)
def test_the_exchange_never_lowers_the_criterion(case):
    seed, n_candidates, k, name = case
    rng = np.random.default_rng(seed)
    candidates = rng.standard_normal((n_candidates, k)) * rng.uniform(0.1, 2.0, k)
    n = int(rng.integers(1, n_candidates))
    start = rng.choice(n_candidates, size=n, replace=False).tolist()
    fixed = rng.standard_normal((int(rng.integers(0, 4)), k))
    value = criterion_for(name, rng.standard_normal((3, k)))
    chosen, history = exchange(candidates, start, value, fixed)
    assert len(set(chosen)) == len(chosen) == n
    assert all(b > a for a, b in zip(history, history[1:], strict=False))
    rows = with_intercept(np.vstack([fixed, candidates[chosen]]))
    assert float(value(rows.T @ rows)) == pytest.approx(history[-1])


def test_exchange_finds_the_extremes_of_one_indicator():
    # For a straight line the D-optimal design puts half the points at each end.
    candidates = np.linspace(-1, 1, 21)[:, None]
    chosen, _ = exchange(candidates, greedy(candidates, 4))
    assert sorted(chosen) == [0, 1, 19, 20]


def test_d_optimal_and_spread_beat_dirichlet_on_a_known_pool():
    pool, indicators = synthetic_pool()
    figures = {
        design: build_design(pool, 12, 16, 0, design, indicators).info["figures"]
        for design in ("dirichlet", "spread", "d-optimal", "selections")
    }
    dirichlet = figures["dirichlet"]["d_efficiency"]
    assert figures["spread"]["d_efficiency"] > 2 * dirichlet
    assert figures["selections"]["d_efficiency"] > 2 * dirichlet
    assert figures["d-optimal"]["d_efficiency"] > figures["spread"]["d_efficiency"]
    for column in COLUMNS:
        assert figures["d-optimal"][f"sd_{column}"] > 2 * figures["dirichlet"][f"sd_{column}"]


@pytest.mark.parametrize("design", ["dirichlet", "spread", "d-optimal", "selections"])
def test_designs_are_deterministic_and_never_repeat_an_example(design):
    pool, indicators = synthetic_pool()
    built = build_design(pool, 10, 15, 3, design, indicators, mix_sources=True)
    shuffled = build_design(
        pool.sample(frac=1, random_state=1),
        10,
        15,
        3,
        design,
        indicators.sample(frac=1, random_state=2),
        mix_sources=True,
    )
    assert built.subsets.equals(shuffled.subsets)
    assert built.info == shuffled.info
    sizes = built.subsets.groupby("subset_id")["id"].agg(["size", "nunique"])
    assert (sizes["size"] == 15).all() and (sizes["nunique"] == 15).all()
    contents = built.subsets.groupby("subset_id")["id"].apply(lambda s: tuple(sorted(s)))
    assert contents.nunique() == 10
    assert built.info["dirichlet"]["d_efficiency"] > 0
    other = build_design(pool, 10, 15, 4, design, indicators, mix_sources=True)
    assert not other.subsets.equals(built.subsets)


def test_spread_within_a_source_mixture_keeps_the_drawn_shares():
    pool, indicators = synthetic_pool()
    mixed = build_design(pool, 6, 20, 0, "spread", indicators, alpha=0.1, mix_sources=True)
    shares = mixed.mixtures.drop(columns="subset_id")
    assert (shares.max(axis=1) >= 0.9).sum() >= 3  # alpha 0.1: mostly one source
    free = build_design(pool, 6, 20, 0, "spread", indicators, temperature=0.0)
    assert free.info["figures"]["d_efficiency"] > 0


def test_figures_are_stored_in_the_mixtures_table(tmp_path):
    pool, indicators = synthetic_pool()
    built = build_design(pool, 8, 12, 0, "d-optimal", indicators, columns=["x1", "x2"])
    mixtures = write_design(built, tmp_path / "subsets.parquet")
    assert mixtures.name == "subsets_mixtures.parquet"
    info = read_design_info(mixtures)
    assert info["columns"] == ["x1", "x2"] and info["design"] == "d-optimal"
    assert info["figures"]["d_efficiency"] > info["dirichlet"]["d_efficiency"]
    assert set(info["figures"]) == {"d_efficiency", "sd_x1", "sd_x2", "max_abs_corr"}


def test_designs_that_cannot_be_built_fail_in_one_line():
    pool, indicators = synthetic_pool()
    with pytest.raises(UserError, match=r"indicator column\(s\) nope not in the indicators"):
        build_design(pool, 4, 10, 0, "d-optimal", indicators, columns=["x1", "nope"])
    with pytest.raises(UserError, match="needs an indicators table"):
        build_design(pool, 4, 10, 0, "spread")
    few = indicators.copy()
    few.loc[few.index[5:], "x1"] = np.nan
    with pytest.raises(UserError, match="larger than the 5 examples with a value for every"):
        build_design(pool, 4, 10, 0, "d-optimal", few)
    with pytest.raises(UserError, match="unknown design 'best'"):
        build_design(pool, 4, 10, 0, "best", indicators)
    flat = indicators.assign(x3=1.0)
    with pytest.raises(UserError, match="x3 do not vary"):
        build_design(pool, 4, 10, 0, "spread", flat, columns=["x1", "x3"])


def test_dirichlet_still_samples_when_its_figures_cannot_be_computed():
    pool, indicators = synthetic_pool()
    flat = indicators.assign(x1=np.nan, x2=np.nan, x3=np.nan)
    built = build_design(pool, 4, 10, 0, "dirichlet", flat)
    assert built.subsets["subset_id"].nunique() == 4
    assert "no numeric column that varies" in built.info["figures_skipped"]


def test_a_lower_temperature_gives_more_extreme_spread_subsets():
    pool, indicators = synthetic_pool()
    sharp, flat = (
        build_design(pool, 10, 16, 0, "spread", indicators, temperature=t).info["figures"]
        for t in (0.1, 10.0)
    )
    assert sharp["d_efficiency"] > 2 * flat["d_efficiency"]
    assert all(sharp[f"sd_{c}"] > flat[f"sd_{c}"] for c in COLUMNS)
