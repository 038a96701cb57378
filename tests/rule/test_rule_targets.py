"""The rule's target: the fit set, one recorded set, or a weighted mean of several."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from eval_sets_workspace import SETS, write_sets_workspace

from instructmining.errors import UserError
from instructmining.rule import Rule, fit_rule, load_fit_table
from instructmining.rule.targets import (
    FIT_TARGET,
    Target,
    parse_weights,
    resolve_target,
    set_losses,
    target_values,
)


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    return write_sets_workspace(tmp_path_factory.mktemp("sets") / "ws")


def _runs() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "subset_id": ["a", "a", "b", "c", "__base__", "c"],
            "seed": [0, 1, 0, 0, 0, 1],
            "eval_loss": [2.0, 4.0, 3.0, 5.0, 9.0, np.nan],
            "test_loss__mt": [1.0, 3.0, 2.0, 4.0, 9.0, np.nan],
            "test_loss__empty": np.nan,
            "status": ["ok", "ok", "ok", "ok", "ok", "failed"],
        }
    )


def test_set_losses_average_seeds_and_skip_base_failed_and_empty_sets():
    losses = set_losses(_runs())
    assert list(losses.columns) == ["fit", "mt"]
    assert losses.loc["a"].tolist() == [3.0, 2.0]
    assert list(losses.index) == ["a", "b", "c"]


def test_weighted_mean_target_equals_hand_computation():
    losses = set_losses(_runs())
    target = resolve_target("mean", losses, {"fit": 3, "mt": 1})
    assert target.kind == "mean" and target.weights == {"fit": 0.75, "mt": 0.25}
    fit, mt = np.log([3.0, 3.0, 5.0]), np.log([2.0, 2.0, 4.0])
    z_fit = (fit - fit.mean()) / fit.std(ddof=1)
    z_mt = (mt - mt.mean()) / mt.std(ddof=1)
    expected = 0.75 * z_fit + 0.25 * z_mt
    assert target_values(losses, target).to_numpy() == pytest.approx(expected)


def test_fit_and_named_targets_are_log_losses():
    losses = set_losses(_runs())
    assert target_values(losses, FIT_TARGET).tolist() == pytest.approx(np.log([3, 3, 5]))
    mt = resolve_target("mt", losses)
    assert mt.to_dict() == {"kind": "set", "sets": ["mt"], "weights": {"mt": 1.0}}
    assert target_values(losses, mt).tolist() == pytest.approx(np.log([2, 2, 4]))


def test_unknown_set_names_the_sets_that_exist():
    losses = set_losses(_runs())
    with pytest.raises(UserError, match=r"'nosuch'; sets with losses: fit, mt$"):
        resolve_target("nosuch", losses)
    with pytest.raises(UserError, match="empty; sets with losses: fit, mt"):
        resolve_target("mean", losses, {"fit": 1, "empty": 1})
    with pytest.raises(UserError, match="`weights` needs `target` mean"):
        resolve_target("fit", losses, {"fit": 1})
    with pytest.raises(UserError, match="non-negative"):
        resolve_target("mean", losses, {"fit": -1, "mt": 1})


def test_parse_weights():
    assert parse_weights("fit=2, mt=0.5") == {"fit": 2.0, "mt": 0.5}
    assert parse_weights(None) == {}
    for bad in ("fit", "fit=x", "=2"):
        with pytest.raises(UserError, match="`weights` must be NAME=W"):
            parse_weights(bad)


def test_auto_takes_the_mean_only_where_sets_disagree():
    losses = set_losses(_runs())
    opposed = [{"a": "fit", "b": "mt", "spearman": -0.9, "ci_low": -1.0, "ci_high": -0.5}]
    unclear = [{"a": "fit", "b": "mt", "spearman": -0.5, "ci_low": -0.9, "ci_high": 0.2}]
    chosen = resolve_target("auto", losses, agreement=opposed)
    assert chosen.kind == "mean" and "disagree" in chosen.reason
    assert resolve_target("auto", losses, agreement=unclear).kind == "fit"


def test_rule_json_records_the_target_and_reads_old_files():
    target = Target("mean", ["fit", "mt"], {"fit": 0.5, "mt": 0.5})
    rule = Rule("r", "ols", ["x"], 1.0, {"x": 2.0}, target=target)
    data = rule.to_dict()
    assert data["target"] == {"kind": "mean", "sets": ["fit", "mt"], "weights": target.weights}
    assert Rule.from_dict(data).target == target
    assert rule.describe().startswith("z = 1")
    data["target"] = "log_eval_loss"  # before targets were recorded
    assert Rule.from_dict(data).target == FIT_TARGET


def test_fit_on_each_target_recovers_that_sets_rule(ws):
    for name, (b0, b1, b2) in SETS.items():
        data = load_fit_table(ws, target=name)
        rule = fit_rule(data, indicators=["reward", "mtld"], exact=True).rule
        assert rule.target.sets == [name]
        assert rule.intercept == pytest.approx(b0, abs=0.02)
        assert rule.coefficients["reward"] == pytest.approx(b1, rel=0.05)
        assert rule.coefficients["mtld"] == pytest.approx(b2, rel=0.05)


def test_mean_target_fit_table_holds_the_target_values(ws):
    data = load_fit_table(ws, target="mean", weights={"fit": 1, "opposed": 1})
    expected = target_values(data.losses, data.target)
    table = data.table.set_index("subset_id")
    assert table["log_eval_loss"].to_numpy() == pytest.approx(expected.loc[table.index])
    assert table["eval_loss"].to_numpy() == pytest.approx(data.losses.loc[table.index, "fit"])


def test_published_rules_name_the_papers_fit_set():
    from instructmining.rule import load_rule

    target = load_rule("paper-v1").target
    assert target.kind == "fit" and "SELF-INSTRUCT" in target.explain()


def test_exact_indicators_are_used_for_every_targets_rule(ws):
    data = load_fit_table(ws)
    result = fit_rule(data, indicators=["ppl"], exact=True)
    assert {tuple(r["indicators"]) for r in result.rule.info["transfer"]} == {("ppl",)}


@pytest.mark.parametrize(
    "target", [{"kind": "best"}, {"kind": "mean", "weights": "x"}, {"sets": "fit"}]
)
def test_bad_target_in_rule_file_is_a_user_error(target):
    data = Rule("r", "ols", ["x"], 1.0, {"x": 2.0}).to_dict()
    data["target"] = target
    with pytest.raises(UserError, match="not a valid rule file: bad or missing"):
        Rule.from_dict(data)
