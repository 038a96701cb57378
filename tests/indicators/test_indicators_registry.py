"""Registry, names and columns, batching, subset means, and the cache without models."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from instructmining.errors import UserError
from instructmining.indicators import (
    INDICATOR_NAMES,
    IndicatorOptions,
    column_to_indicator,
    indicator_columns,
    indicator_definitions,
    parse_names,
    run_indicators,
    subset_means,
)
from instructmining.indicators.base import make_batches
from instructmining.indicators.cache import ValueCache
from instructmining.indicators.mtld import mtld


def test_names_columns_and_their_way_back():
    columns = indicator_columns("all", IndicatorOptions(k=4))
    assert columns == [
        "input_len", "output_len", "mtld", "ppl", "ifd", "reward",
        "unieval_nat", "unieval_coh", "unieval_und", "knn4", "judge",
    ]  # fmt: skip
    assert {column_to_indicator(c) for c in columns} == set(INDICATOR_NAMES)
    assert indicator_columns(["ifd"]) == ["ifd"]
    assert parse_names("ppl, ifd,ppl") == ["ppl", "ifd"]
    with pytest.raises(UserError, match="column 'bogus'"):
        column_to_indicator("bogus")


def test_unknown_indicator_suggests_the_closest_name():
    with pytest.raises(UserError, match="unknown indicator 'rewrd'; did you mean reward"):
        parse_names("length,rewrd")
    with pytest.raises(UserError, match="no indicators named"):
        parse_names(" , ")


def test_definitions_name_model_version_and_params():
    definitions = indicator_definitions(["knn", "mtld", "reward"], IndicatorOptions(k=6))
    assert definitions["knn6"]["model"].startswith("dir:model:")  # the bundled MiniLM folder
    assert definitions["knn6"]["params"]["k"] == 6
    assert (
        definitions["mtld"]["model"] is None and definitions["mtld"]["params"]["threshold"] == 0.72
    )
    assert definitions["reward"]["model"] == "hub:OpenAssistant/oasst-rm-2.1-pythia-1.4b-epoch-2.5"
    assert definitions["reward"]["params"]["format"] == "oasst"


def test_bad_options_are_user_errors():
    for bad in ({"k": 0}, {"batch_size": 0}, {"reward_format": "xml"}):
        with pytest.raises(UserError):
            IndicatorOptions(**bad)


@given(
    lengths=st.lists(st.integers(1, 500), min_size=1, max_size=60),
    batch_size=st.integers(1, 9),
    budget=st.none() | st.integers(1, 2000),
)
def test_batches_cover_everything_once_sorted_and_within_limits(lengths, batch_size, budget):
    lengths = np.array(lengths)
    ids = np.array([f"id{i:03d}" for i in range(len(lengths))])
    batches = make_batches(lengths, ids, batch_size, budget)
    flat = np.concatenate(batches)
    assert sorted(flat.tolist()) == list(range(len(lengths)))
    assert (np.diff(lengths[flat]) >= 0).all()
    for batch in batches:
        assert len(batch) <= batch_size
        if budget is not None and len(batch) > 1:
            assert len(batch) * lengths[batch].max() <= budget


def test_mtld_scores_text_and_nulls_what_it_cannot(sample_pool, tmp_path):
    assert mtld("The cat sat on the mat. The dog sat too.") == pytest.approx(10.0)
    pool = sample_pool.head(4).copy()
    pool.loc[pool.index[1], "output"] = "!!! 123"
    pool.loc[pool.index[2], "output"] = ""
    run = run_indicators(pool, "mtld", cache_dir=tmp_path, progress=False)
    assert run.table["mtld"].isna().tolist() == [False, True, True, False]
    summary = run.summary().set_index("column")
    assert summary.loc["mtld", "nulls"] == 2 and summary.loc["mtld", "count"] == 2
    rerun = run_indicators(pool, "mtld", cache_dir=tmp_path, progress=False)
    assert rerun.stats[0].computed == 0 and rerun.stats[0].cached == 4  # nulls are cached too


def test_cache_stores_values_nulls_and_vectors(tmp_path):
    cache = ValueCache(tmp_path)
    cache.put("spec", {"a": [1.5, None, float("nan")]}, ["x", "y", "z"])
    assert cache.get("spec", "a") == {"x": 1.5, "y": None, "z": None}
    assert cache.get("other", "a") == {}
    cache.put_vectors("m", ["k1"], np.array([[0.5, 0.25]], dtype=np.float32))
    assert cache.get_vectors("m", ["k1", "k2"])["k1"].tolist() == [0.5, 0.25]
    cache.close()
    reopened = ValueCache(tmp_path)
    assert reopened.count("spec") == 3


def test_pool_without_required_columns_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="lacks column"):
        run_indicators(pd.DataFrame({"id": ["a"]}), "mtld", cache_dir=tmp_path, progress=False)


def test_subset_means_average_each_column_per_subset():
    """Integer subset ids (as pandas writes them) come back as text, the one form ids are
    compared in (issue 27, point 7)."""
    values = pd.DataFrame({"id": ["a", "b", "c"], "ppl": [1.0, 3.0, 5.0], "mtld": [2.0, None, 4.0]})
    subsets = pd.DataFrame({"subset_id": [0, 0, 1, 1], "id": ["a", "b", "b", "c"]})
    means = subset_means(values, subsets)
    assert means.to_dict("list") == {"subset_id": ["0", "1"], "ppl": [2.0, 4.0], "mtld": [2.0, 4.0]}
    with pytest.raises(UserError, match=r"1 example\(s\) of subset\(s\) 0 are not in the pool"):
        subset_means(values, pd.DataFrame({"subset_id": [0], "id": ["zz"]}))
