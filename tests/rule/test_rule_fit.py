"""fit_rule on synthetic subset tables generated from a known rule."""

from __future__ import annotations

import json

import numpy as np
import pytest
from rule_synthetic import TRUE, TRUE_INTERCEPT, subset_table
from sklearn.ensemble import GradientBoostingRegressor

from instructmining.errors import UserError
from instructmining.rule import Rule, fit_rule
from instructmining.rule.learners import _fit, fit_model
from instructmining.rule.model import TreeEnsemble
from instructmining.rule.regression import cv_splits


@pytest.fixture(scope="module")
def table():
    return subset_table()


@pytest.fixture(scope="module")
def fitted(table):
    return fit_rule(table)


def test_search_finds_the_true_indicators_among_distractors(fitted):
    assert set(fitted.rule.indicators) == set(TRUE)
    # 6 candidates, sets of 1..3: 6 + 15 + 20 combinations, all reported as tried.
    assert fitted.stats["n_combinations"] == 41
    assert len(fitted.combinations) == 41


def test_coefficients_recovered_within_three_standard_errors(fitted):
    coef = fitted.coefficients.set_index("indicator")
    for column, truth in TRUE.items():
        assert abs(coef.loc[column, "raw"] - truth) < 3 * coef.loc[column, "se"]
        assert (
            coef.loc[column, "ci95_low"] < coef.loc[column, "raw"] < coef.loc[column, "ci95_high"]
        )
        assert coef.loc[column, "p"] < 1e-6
    s = fitted.stats
    assert abs(s["intercept"] - TRUE_INTERCEPT) < 3 * s["intercept_se"]
    assert s["r2"] > 0.9 and s["cv_r2"] > 0.85 and s["adj_r2"] <= s["r2"]
    assert s["f_p"] < 1e-10 and s["f_p_bonferroni"] == pytest.approx(s["f_p"] * 41)


def test_standardised_coefficients_and_vif(fitted, table):
    coef = fitted.coefficients.set_index("indicator")
    for column in TRUE:
        sd = table[column].std(ddof=1)
        assert coef.loc[column, "standardised"] == pytest.approx(coef.loc[column, "raw"] * sd)
        assert 1.0 <= coef.loc[column, "vif"] < 1.5  # independent draws


def test_rule_predicts_with_raw_coefficients_and_round_trips_json(fitted, table):
    rule = fitted.rule
    expected = rule.intercept + sum(rule.coefficients[c] * table[c] for c in rule.indicators)
    np.testing.assert_allclose(rule.predict(table), expected)
    data = json.loads(json.dumps(rule.to_dict()))
    assert data["coefficients"]["reward"]["se"] > 0
    assert data["fit"]["n_combinations"] == 41
    again = Rule.from_dict(data)
    np.testing.assert_allclose(again.predict(table), rule.predict(table))


def test_ablation_has_singles_and_all(fitted):
    sets = list(fitted.ablation["set"])
    assert sets[-1] == "all" and {"only reward", "only mtld"} <= set(sets)
    assert fitted.ablation.iloc[-1]["r2"] == pytest.approx(fitted.stats["r2"])


def test_paper_criterion_prefers_significant_sets_with_highest_r2(table):
    result = fit_rule(table, criterion="paper")
    top = result.combinations.iloc[0]
    assert top["all_significant"]
    significant = result.combinations[result.combinations["all_significant"]]
    assert top["r2"] == significant["r2"].max()
    assert set(TRUE) <= set(result.rule.indicators)


def test_exact_uses_the_given_indicators(table):
    result = fit_rule(table, indicators=["reward", "ppl"], exact=True)
    assert result.rule.indicators == ["reward", "ppl"]
    assert result.stats["n_combinations"] == 1


@pytest.mark.parametrize("model", ["ols", "ridge", "lasso", "gbm"])
def test_models_are_compared_by_the_same_cv_r2(table, model):
    result = fit_rule(table, model=model, indicators=["reward", "mtld", "ppl"])
    assert list(result.models["model"]) == ["ols", "ridge", "lasso", "gbm"]
    assert np.isfinite(result.models["cv_r2"]).all()
    assert result.rule.model == model
    rule = Rule.from_dict(json.loads(json.dumps(result.rule.to_dict())))
    predicted = rule.predict(table)
    columns = result.rule.indicators
    sklearn_pred = _fit(model, table[columns].to_numpy(), table["log_eval_loss"].to_numpy())
    np.testing.assert_allclose(
        predicted, sklearn_pred.predict(table[columns].to_numpy()), rtol=1e-9, atol=1e-9
    )


def test_linear_models_beat_trees_on_a_linear_truth(table):
    result = fit_rule(table)
    models = result.models.set_index("model")
    assert models.loc["ols", "cv_r2"] == pytest.approx(result.stats["cv_r2"])  # same folds
    assert models.loc["ols", "cv_r2"] > models.loc["gbm", "cv_r2"]


def test_tree_ensemble_matches_sklearn_on_new_points():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(40, 2))
    y = np.sin(x[:, 0]) + x[:, 1] ** 2
    gbm = GradientBoostingRegressor(n_estimators=30, max_depth=3, random_state=0).fit(x, y)
    ensemble = TreeEnsemble.from_sklearn(gbm, ["a", "b"], np.zeros(2), np.ones(2))
    new = rng.normal(size=(100, 2))
    np.testing.assert_allclose(ensemble.predict(new, ["a", "b"]), gbm.predict(new), atol=1e-12)


def test_ridge_raw_coefficients_undo_the_standardisation(table):
    fitted = fit_model("ridge", table, ["reward", "mtld"], "log_eval_loss")
    pipe = _fit("ridge", table[["reward", "mtld"]].to_numpy(), table["log_eval_loss"].to_numpy())
    manual = fitted.intercept + table["reward"] * fitted.coefficients["reward"]
    manual += table["mtld"] * fitted.coefficients["mtld"]
    np.testing.assert_allclose(manual, pipe.predict(table[["reward", "mtld"]].to_numpy()))
    assert fitted.params["alpha"] > 0


def test_too_few_runs_is_a_user_error(table):
    with pytest.raises(UserError, match="too few"):
        fit_rule(table.head(4), max_indicators=3)
    with pytest.raises(UserError, match="too few"):
        fit_rule(table.head(4), indicators=["reward", "mtld"], exact=True)
    fit_rule(table.head(5), indicators=["reward"], max_indicators=1)  # LOO: 4 per training fold


def test_unknown_indicator_and_settings_are_user_errors(table):
    with pytest.raises(UserError, match="nope"):
        fit_rule(table, indicators=["reward", "nope"])
    with pytest.raises(UserError, match="model"):
        fit_rule(table, model="svm")
    with pytest.raises(UserError, match="criterion"):
        fit_rule(table, criterion="aic")


def test_cv_folds_are_deterministic_and_loo_when_small():
    first, scheme = cv_splits(30, 5)
    second, _ = cv_splits(30, 5)
    assert scheme == "5-fold"
    for (a, b), (c, d) in zip(first, second, strict=True):
        assert (a == c).all() and (b == d).all()
    loo, scheme = cv_splits(8, 5)
    assert scheme == "leave-one-out" and len(loo) == 8


def test_one_standard_error_rule_keeps_the_fewest_indicators(table):
    result = fit_rule(table, criterion="cv-1se")
    top = result.combinations.iloc[0]
    assert top["within_1se"]
    eligible = result.combinations[result.combinations["within_1se"]]
    assert top["size"] == eligible["size"].min()
    assert set(result.rule.indicators) == set(TRUE)
