"""BlendSearch over n with an injected objective (no fine-tuning)."""

from __future__ import annotations

import math

import pytest

from instructmining.errors import UserError
from instructmining.selection import best_trial, search_size

BEST_N = 2000


def double_descent(n: int) -> float:
    """Loss falls to a minimum at n = 2,000, rises to a bump near 8,000, then falls again at
    much larger n without reaching the first minimum (the shape the paper reports)."""
    x = math.log(n)
    bowl = 0.25 * math.tanh(0.3 * (x - math.log(BEST_N)) ** 2)
    bump = 0.15 * math.exp(-((x - math.log(8000)) ** 2) / 0.3)
    return 1.0 + bowl + bump - 0.1 * max(0.0, x - math.log(20000))


def test_blendsearch_finds_the_minimum_of_a_double_descent_curve():
    calls: list[int] = []

    def objective(n: int) -> dict[str, float]:
        calls.append(n)
        return {"eval_loss": double_descent(n), "test_loss": double_descent(n) + 0.1}

    trials = search_size(objective, 100, 50000, trials=30, progress=False)
    best = best_trial(trials)
    assert abs(math.log(best["n"] / BEST_N)) < math.log(1.25)  # within 25% of the best n
    assert best["eval_loss"] < double_descent(BEST_N) + 0.005
    assert best["test_loss"] == pytest.approx(best["eval_loss"] + 0.1)
    assert trials["n"].between(100, 50000).all()
    assert list(trials.columns) == [
        "trial",
        "n",
        "eval_loss",
        "holdout_loss",
        "test_loss",
        "seconds",
        "cached",
    ]
    assert list(trials["trial"]) == list(range(len(trials)))
    assert trials.iloc[0]["n"] == 100  # starts at the cheap end
    # A repeated n is answered from memory: the objective ran once per distinct n.
    assert sorted(calls) == sorted(set(calls)) and len(calls) == trials["n"].nunique()
    assert trials["cached"].sum() == len(trials) - len(calls)


def test_plain_float_objective_and_failed_runs():
    trials = search_size(
        lambda n: float("nan") if n > 300 else 1.0 / n, 10, 1000, trials=8, progress=False
    )
    assert trials["test_loss"].isna().all()
    assert best_trial(trials)["n"] <= 300


def test_bad_ranges():
    with pytest.raises(UserError, match="`n_min`"):
        search_size(lambda n: 1.0, 0, 10, trials=3, progress=False)
    with pytest.raises(UserError, match="`n_min`"):
        search_size(lambda n: 1.0, 10, 10, trials=3, progress=False)
    with pytest.raises(UserError, match="`trials`"):
        search_size(lambda n: 1.0, 1, 10, trials=0, progress=False)
