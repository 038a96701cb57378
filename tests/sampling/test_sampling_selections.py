"""The `selections` design: each subset the top `size` under a random weighting, random subsets
among them, no two nearly identical, figures and origins in the mixtures table's metadata."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from design_data import COLUMNS, jaccard, members, recomputed_top, synthetic_pool

from instructmining.errors import UserError
from instructmining.sampling import (
    build_design,
    design_figures,
    origins_table,
    read_design_info,
    write_design,
)


def test_each_selection_is_the_top_size_under_its_weighting():
    pool, indicators = synthetic_pool()
    built = build_design(pool, 12, 16, 0, "selections", indicators)
    origins = built.info["origins"]
    subsets = members(built.subsets)
    assert list(origins) == list(subsets)  # one origin per subset, in order
    selections = {s: o for s, o in origins.items() if o["kind"] == "selection"}
    assert len(selections) == 10
    for sid, origin in selections.items():
        assert subsets[sid] == recomputed_top(pool, indicators, origin, 16), sid
        weights = np.array(list(origin["weights"].values()))
        assert list(origin["weights"]) == COLUMNS
        assert np.linalg.norm(weights) == pytest.approx(1.0)
    # Weightings differ in signs and magnitudes; half the selections are pure, half noisy.
    signs = {tuple(np.sign(list(o["weights"].values()))) for o in selections.values()}
    assert len(signs) >= 4
    pure = [o for o in selections.values() if o["noise_seed"] is None]
    noisy = [o for o in selections.values() if o["noise_seed"] is not None]
    assert len(pure) == len(noisy) == 5
    assert all(o["temperature"] == 0 for o in pure)
    assert all(0 < o["temperature"] <= 1.0 for o in noisy)


def test_a_zero_temperature_gives_only_pure_selections():
    pool, indicators = synthetic_pool()
    built = build_design(pool, 8, 16, 1, "selections", indicators, temperature=0.0)
    selections = [o for o in built.info["origins"].values() if o["kind"] == "selection"]
    assert selections and all(o["noise_seed"] is None for o in selections)


@pytest.mark.parametrize(
    ("n", "share", "expected"),
    [(12, None, 2), (9, None, 2), (15, None, 3), (6, None, 1), (2, None, 1), (4, 0.9, 3)],
)
def test_a_share_of_the_subsets_are_plain_random(n, share, expected):
    pool, indicators = synthetic_pool()
    kwargs = {} if share is None else {"random_share": share}
    built = build_design(pool, n, 16, 0, "selections", indicators, **kwargs)
    table = origins_table(built.info)
    assert table["kind"].value_counts().get("random", 0) == expected
    assert (table["kind"] == "selection").sum() == n - expected
    random = table.loc[table["kind"] == "random"]
    assert random[["temperature", *(f"w_{c}" for c in COLUMNS)]].isna().all().all()
    # Random subsets sit near the pool's centre; pure selections far out along their direction.
    means = pd.DataFrame(
        {
            sid: indicators.set_index("id").loc[list(ids), COLUMNS].mean()
            for sid, ids in members(built.subsets).items()
        }
    ).T
    distance = np.linalg.norm(means - indicators[COLUMNS].mean(), axis=1)
    by_kind = dict(zip(means.index, distance, strict=True))
    pure = table.loc[table["temperature"] == 0, "subset_id"]
    assert max(by_kind[s] for s in random["subset_id"]) < min(by_kind[s] for s in pure)


def test_the_random_share_is_configurable():
    pool, indicators = synthetic_pool()
    built = build_design(pool, 10, 16, 0, "selections", indicators, random_share=0.5)
    assert origins_table(built.info)["kind"].tolist().count("random") == 5


def test_no_two_subsets_are_nearly_identical():
    pool, indicators = synthetic_pool()
    for max_overlap in (0.5, 0.2):
        built = build_design(
            pool,
            16,
            20,
            0,
            "selections",
            indicators,
            columns=["x1", "x2"],
            max_overlap=max_overlap,
        )
        sets = list(members(built.subsets).values())
        assert len(sets) == 16 and all(len(s) == 20 for s in sets)
        assert max(jaccard(a, b) for a, b in itertools.combinations(sets, 2)) <= max_overlap
    # Unbounded, pure selections along nearby directions of two columns would repeat members.
    loose = build_design(
        pool, 16, 20, 0, "selections", indicators, columns=["x1", "x2"], max_overlap=0.99
    )
    sets = list(members(loose.subsets).values())
    assert max(jaccard(a, b) for a, b in itertools.combinations(sets, 2)) > 0.5


def test_a_pool_too_small_for_distinct_subsets_is_one_clear_error():
    pool, indicators = synthetic_pool(n=40)
    # Any two 30-subsets of 40 share at least 20 members: Jaccard 0.5 at the least.
    with pytest.raises(UserError, match=r"could draw only 1 of 3 subsets of 30 from the 40"):
        build_design(pool, 3, 30, 0, "selections", indicators, max_overlap=0.45)


def test_figures_and_origins_are_stored_in_the_mixtures_table(tmp_path):
    pool, indicators = synthetic_pool()
    built = build_design(pool, 12, 16, 0, "selections", indicators, columns=["x1", "x2"])
    mixtures = write_design(built, tmp_path / "subsets.parquet")
    info = read_design_info(mixtures)
    assert info["design"] == "selections" and info["columns"] == ["x1", "x2"]
    assert info["random_share"] == pytest.approx(1 / 6) and info["max_overlap"] == 0.5
    assert set(info["figures"]) == {"d_efficiency", "sd_x1", "sd_x2", "max_abs_corr"}
    # The stored figures are those of the subsets written; they beat Dirichlet's of the same N.
    table = indicators.set_index("id")
    z = (table[["x1", "x2"]] - table[["x1", "x2"]].mean()) / table[["x1", "x2"]].std()
    means = np.array(
        [z.loc[list(ids)].mean().to_numpy() for ids in members(built.subsets).values()]
    )
    expected = design_figures(means, ["x1", "x2"])
    assert info["figures"] == pytest.approx(expected)
    assert info["figures"]["d_efficiency"] > 2 * info["dirichlet"]["d_efficiency"]
    assert origins_table(info).equals(origins_table(built.info))
    # The mixtures table itself keeps only source shares: other stages read it as such.
    shares = pd.read_parquet(mixtures)
    assert list(shares.columns) == ["subset_id", "a", "b", "c", "d"]


def test_selections_settings_and_sizes_fail_in_one_line():
    pool, indicators = synthetic_pool()
    with pytest.raises(UserError, match=r"`random_share` must be above 0 and below 1 \(got 0\)"):
        build_design(pool, 6, 10, 0, "selections", indicators, random_share=0)
    with pytest.raises(UserError, match=r"`max_overlap` must be above 0 and below 1 \(got 1\)"):
        build_design(pool, 6, 10, 0, "selections", indicators, max_overlap=1)
    with pytest.raises(UserError, match="needs at least 2 subsets, one of them random"):
        build_design(pool, 1, 10, 0, "selections", indicators)
    with pytest.raises(UserError, match="needs an indicators table"):
        build_design(pool, 6, 10, 0, "selections")
    with pytest.raises(UserError, match=r"indicator column\(s\) nope not in"):
        build_design(pool, 6, 10, 0, "selections", indicators, columns=["x1", "nope"])
    with pytest.raises(UserError, match="subset size 500 is larger than the 240 examples"):
        build_design(pool, 6, 500, 0, "selections", indicators)
    few = indicators.copy()
    few.loc[few.index[20:], "x2"] = np.nan
    with pytest.raises(UserError, match="larger than the 20 examples with a value for every"):
        build_design(pool, 6, 30, 0, "selections", few, columns=["x1", "x2"])
