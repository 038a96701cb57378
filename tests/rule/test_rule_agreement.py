"""Agreement between evaluation sets, transfer of rules between them, and the per-source view."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from eval_sets_workspace import SOURCE_REWARD, write_sets_workspace
from scipy import stats

from instructmining.rule import fit_rule, load_fit_table
from instructmining.rule.agreement import (
    agreement_matrix,
    agreement_sentences,
    bootstrap_spearman,
    eval_agreement,
    preferred_sources,
    verdict,
)
from instructmining.rule.sets_text import sets_text
from instructmining.rule.sources import picked_mixture, source_shares, source_view
from instructmining.rule.transfer import transfer_matrix

KEYS = {"a", "b", "spearman", "ci_low", "ci_high", "n_subsets"}


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    ws = write_sets_workspace(tmp_path_factory.mktemp("sets") / "ws")
    data = load_fit_table(ws)
    return data, fit_rule(data, max_indicators=2)


def _pair(records, a, b):
    return next(r for r in records if {r["a"], r["b"]} == {a, b})


def test_shared_signal_agrees_and_opposed_sets_disagree(fitted):
    data, _ = fitted
    records = data.agreement
    assert {(r["a"], r["b"]) for r in records} == {
        ("fit", "alike"),
        ("fit", "opposed"),
        ("alike", "opposed"),
    }
    assert all(set(r) == KEYS and r["n_subsets"] == 24 for r in records)
    alike, opposed = _pair(records, "fit", "alike"), _pair(records, "fit", "opposed")
    assert alike["spearman"] > 0.8 and alike["ci_low"] > 0 and verdict(alike) == "agree"
    assert opposed["spearman"] < -0.8 and opposed["ci_high"] < 0
    assert verdict(opposed) == "disagree"
    rho = stats.spearmanr(data.losses["fit"], data.losses["alike"]).statistic
    assert alike["spearman"] == pytest.approx(rho)


def test_sentences_say_where_good_data_differs_and_which_sources_each_set_prefers(fitted):
    data, result = fitted
    view = result.rule.info["source_view"]
    assert preferred_sources(view, "fit")[0] == "alpaca"
    assert preferred_sources(view, "opposed")[0] == "lima"
    lines = agreement_sentences(data.agreement, view)
    fit_opposed = next(s for s in lines if "fit and opposed" in s)
    assert fit_opposed.startswith('"Good data" differs between fit and opposed')
    assert "fit prefers alpaca-dominated" in fit_opposed
    assert "opposed prefers lima-dominated" in fit_opposed
    assert next(s for s in lines if "fit and alike" in s).startswith("fit and alike agree")


def test_bootstrap_interval_is_unclear_for_unrelated_sets():
    rng = np.random.default_rng(1)
    losses = pd.DataFrame({"x": rng.normal(size=12), "y": rng.normal(size=12)})
    (record,) = eval_agreement(losses)
    assert record["ci_low"] < record["spearman"] < record["ci_high"]
    assert verdict(record) == "unclear"
    assert "interval includes zero" in agreement_sentences([record])[0]
    assert np.isnan(bootstrap_spearman(np.ones(5), np.arange(5.0))[0])


def test_agreement_matrix_is_symmetric(fitted):
    data, _ = fitted
    matrix = agreement_matrix(data.agreement)
    assert list(matrix.index) == ["fit", "alike", "opposed"]
    assert np.allclose(matrix.to_numpy(), matrix.to_numpy().T)
    assert matrix.loc["fit", "fit"] == 1.0


def test_transfer_works_between_agreeing_sets_and_reverses_on_opposed(fitted):
    _, result = fitted
    records = result.rule.info["transfer"]
    matrix = transfer_matrix(records)
    assert list(matrix.index) == ["fit", "alike", "opposed"]
    assert matrix.loc["fit", "fit"] > 0.8 and matrix.loc["fit", "alike"] > 0.8
    assert matrix.loc["fit", "opposed"] < -0.8 and matrix.loc["opposed", "opposed"] > 0.8
    own = next(r for r in records if r["fitted_on"] == "fit")
    assert own["indicators"] == result.rule.indicators


def test_mean_target_adds_its_own_transfer_row(tmp_path):
    ws = write_sets_workspace(tmp_path / "ws", n_subsets=16)
    data = load_fit_table(ws, target="mean", weights={"fit": 1, "opposed": 1})
    matrix = transfer_matrix(fit_rule(data, max_indicators=1).rule.info["transfer"])
    assert list(matrix.index) == ["fit", "alike", "opposed", "mean"]


def test_source_view_is_the_mean_loss_by_dominant_source():
    pool = pd.DataFrame({"id": list("abcdef"), "source": ["p", "p", "q", "q", "q", "p"]})
    subsets = pd.DataFrame({"subset_id": ["s1"] * 3 + ["s2"] * 3, "id": list("abcdef")})
    shares = source_shares(subsets, pool)
    assert shares.loc["s1", "p"] == pytest.approx(2 / 3)
    losses = pd.DataFrame({"fit": [1.0, 2.0], "mt": [3.0, 1.0]}, index=["s1", "s2"])
    view = source_view(losses, shares)
    assert view == [
        {
            "source": "p",
            "n_subsets": 1,
            "mean_share": pytest.approx(2 / 3),
            "loss": {"fit": 1.0, "mt": 3.0},
        },
        {
            "source": "q",
            "n_subsets": 1,
            "mean_share": pytest.approx(2 / 3),
            "loss": {"fit": 2.0, "mt": 1.0},
        },
    ]
    scores = pd.Series([0.1, 0.2, 0.9, 0.8, 0.7, np.nan], index=list("abcdef"))
    assert picked_mixture(scores, pool, 3) == {"p": pytest.approx(2 / 3), "q": pytest.approx(1 / 3)}


def test_each_sets_rule_picks_the_sources_that_set_prefers(fitted):
    _, result = fitted
    mixtures = result.rule.info["rule_mixtures"]
    best = max(SOURCE_REWARD, key=SOURCE_REWARD.get)
    worst = min(SOURCE_REWARD, key=SOURCE_REWARD.get)
    assert mixtures["n"] == 30 and mixtures["pool"][best] == pytest.approx(1 / 3)
    assert max(mixtures["picked"]["fit"], key=mixtures["picked"]["fit"].get) == best
    assert max(mixtures["picked"]["opposed"], key=mixtures["picked"]["opposed"].get) == worst


def test_each_sets_mixture_rule_predicts_the_sources_that_set_prefers(fitted):
    _, result = fitted
    by_shares = result.rule.info["rule_mixtures"]["mixture_rule"]
    best = max(SOURCE_REWARD, key=SOURCE_REWARD.get)
    worst = min(SOURCE_REWARD, key=SOURCE_REWARD.get)
    fit, opposed = by_shares["fit"]["best_mixture"], by_shares["opposed"]["best_mixture"]
    assert max(fit, key=fit.get) == best and max(opposed, key=opposed.get) == worst
    assert by_shares["fit"]["cv_r2"] > 0
    assert "opposed (mixture rule)" in sets_text(result.rule.info)


def test_constant_losses_give_no_agreement_and_say_why():
    losses = pd.DataFrame({"fit": [3.0] * 8, "mt": np.linspace(1, 2, 8)})
    (record,) = eval_agreement(losses)
    assert np.isnan(record["spearman"]) and np.isnan(record["ci_high"])
    assert verdict(record) == "unclear"
    assert "losses do not vary across the 8 subsets" in agreement_sentences([record])[0]
