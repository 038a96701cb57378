"""Rule vs random vs baselines with an injected training function; intervals against scipy."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from instructmining.errors import UserError
from instructmining.selection import compare_selections, difference_interval, score_pool
from instructmining.selection.compare import paired_bootstrap


def test_paired_interval_matches_the_t_formula():
    a = pd.Series([2.71, 2.74, 2.73, 2.70, 2.72], index=range(5))
    b = pd.Series([2.76, 2.78, 2.75, 2.77, 2.79], index=range(5))
    got = difference_interval(a, b)
    d = (a - b).to_numpy()
    half = stats.t.ppf(0.975, len(d) - 1) * d.std(ddof=1) / np.sqrt(len(d))
    assert got["method"] == "paired t over seeds"
    assert got["diff"] == pytest.approx(d.mean())
    assert got["diff_low"] == pytest.approx(d.mean() - half)
    assert got["diff_high"] == pytest.approx(d.mean() + half)
    assert got["p"] == pytest.approx(stats.ttest_rel(a, b).pvalue)


def test_welch_interval_when_seeds_do_not_line_up():
    a = pd.Series([2.71, 2.74, np.nan, 2.70, 2.72], index=range(5))
    b = pd.Series([2.76, 2.78, 2.75, 2.77, 2.79], index=range(5))
    got = difference_interval(a, b)
    x, y = a.dropna().to_numpy(), b.to_numpy()
    vx, vy = x.var(ddof=1) / len(x), y.var(ddof=1) / len(y)
    df = (vx + vy) ** 2 / (vx**2 / (len(x) - 1) + vy**2 / (len(y) - 1))
    half = stats.t.ppf(0.975, df) * np.sqrt(vx + vy)
    diff = x.mean() - y.mean()
    assert got["method"] == "Welch t"
    assert got["diff_low"] == pytest.approx(diff - half)
    assert got["diff_high"] == pytest.approx(diff + half)


def test_too_few_values_give_no_interval():
    got = difference_interval(pd.Series([1.0]), pd.Series([2.0]))
    assert got["method"] == "too few" and np.isnan(got["diff_low"])


def _pool(n=40):
    return pd.DataFrame({"id": [f"e{i:02d}" for i in range(n)], "reward": np.arange(n) / n})


# The seed effect cancels exactly in the paired differences; scipy warns about zero variance.
@pytest.mark.filterwarnings("ignore:Precision loss:RuntimeWarning")
def test_compare_trains_each_selection_per_seed_and_summarises():
    pool = _pool()
    rule_rank = score_pool(pool, "reward", indicators=pool, progress=False)  # stands for the rule
    length_rank = rule_rank.iloc[::-1].reset_index(drop=True)
    seen = []

    def evaluate(jobs):
        seen.extend(jobs)
        # loss depends on the mean "reward" of the examples plus a shared seed effect.
        value = pool.set_index("id")["reward"]
        return [2.8 - 0.1 * value[list(j.ids)].mean() + 0.01 * j.seed for j in jobs]

    found = compare_selections(
        pool, {"rule": rule_rank, "length": length_rank}, evaluate, [0, 1, 2], n=10
    )
    runs, summary = found.runs, found.summary
    assert list(runs.columns) == ["selector", "seed", "n", "eval_set", "eval_loss", "subset_id"]
    assert len(runs) == 9 and set(runs["selector"]) == {"rule", "length", "random"}
    rule_jobs = [j for j in seen if j.selector == "rule"]
    assert {j.ids for j in rule_jobs} == {tuple(rule_rank["id"].head(10))}
    assert len({j.subset_id for j in rule_jobs}) == 1
    random_jobs = [j for j in seen if j.selector == "random"]
    assert len({j.ids for j in random_jobs}) == 3  # selection seed i differs per seed
    assert len({j.subset_id for j in random_jobs}) == 3
    assert list(summary["selector"]) == ["rule", "random", "length"]
    rows = summary.set_index("selector")
    assert rows.loc["rule", "runs"] == 3 and rows.loc["rule", "sd"] == pytest.approx(0.01)
    # Paired by seed, the seed effect cancels: rule - length is exact with zero width.
    assert rows.loc["length", "method"] == "paired t over seeds"
    assert rows.loc["length", "diff"] < 0
    assert rows.loc["length", "diff_high"] == pytest.approx(rows.loc["length", "diff"])
    assert rows.loc["random", "diff_high"] < 0


def test_subset_ids_change_with_the_examples():
    pool = _pool()
    ranked = score_pool(pool, "reward", indicators=pool, progress=False)
    other = ranked.iloc[::-1].reset_index(drop=True)
    ids = {}

    def evaluate(jobs):
        ids.update({j.ids: j.subset_id for j in jobs if j.selector == "rule"})
        return [1.0] * len(jobs)

    compare_selections(pool, {"rule": ranked}, evaluate, [0, 1], n=5)
    compare_selections(pool, {"rule": other}, evaluate, [0, 1], n=5)
    assert len(set(ids.values())) == 2 and all(s.startswith("rule-top5-") for s in ids.values())


def test_compare_arguments():
    pool = _pool(5)
    with pytest.raises(UserError, match="2 seeds"):
        compare_selections(pool, {}, lambda jobs: [], [0], n=2)
    with pytest.raises(UserError, match="1..5"):
        compare_selections(pool, {}, lambda jobs: [], [0, 1], n=6)


@pytest.mark.filterwarnings("ignore:Precision loss:RuntimeWarning")
def test_one_interval_per_eval_set_from_one_training_per_seed():
    pool = _pool()
    ranked = score_pool(pool, "reward", indicators=pool, progress=False)
    value = pool.set_index("id")["reward"]
    trained = []
    rng = np.random.default_rng(0)
    item_effect = {s: rng.normal(0, 0.05, 12) for s in ("fit", "holdout", "mt_bench")}

    def evaluate(jobs):
        trained.extend(jobs)
        rows = []
        for i, job in enumerate(jobs):
            quality = value[list(job.ids)].mean()
            for eval_set, effect in item_effect.items():
                sign = -1 if eval_set != "mt_bench" else 1  # mt_bench prefers the other data
                for k, e in enumerate(effect):
                    loss = 2.0 + sign * 0.3 * quality + e + 0.01 * job.seed
                    rows.append((i, eval_set, f"q{k}", loss * 10, 10))
        return pd.DataFrame(rows, columns=["job", "eval_set", "item_id", "loss_sum", "tokens"])

    found = compare_selections(pool, {"rule": ranked}, evaluate, [0, 1, 2], n=10, n_boot=500)
    assert len(trained) == 6  # rule and random, 3 seeds: every set from the same fine-tunes
    assert len(found.runs) == 18 and list(found.runs["eval_set"].unique()) == [
        "fit",
        "holdout",
        "mt_bench",
    ]
    vs_random = found.summary[found.summary["selector"] == "random"].set_index("eval_set")
    assert list(vs_random.index) == ["fit", "holdout", "mt_bench"]  # one interval per set
    assert vs_random.loc["holdout", "boot_high"] < 0 < vs_random.loc["mt_bench", "boot_low"]
    assert (vs_random["boot_low"] <= vs_random["diff"]).all()
    assert len(found.items) == 18 * 12


def test_bootstrap_agrees_with_the_analytic_interval():
    """Items only (the seeds are copies): the percentile bootstrap of a mean difference
    matches mean ± z·sd/sqrt(n); seeds only (items constant): mean ± z·sd/sqrt(S)."""
    rng = np.random.default_rng(5)
    d = rng.normal(-0.1, 0.5, 400)
    base = rng.normal(3.0, 0.3, 400)
    ones = np.ones((3, 400))
    low, high = paired_bootstrap((base + d) * ones, ones, base * ones, ones, n_boot=4000, seed=1)
    half = stats.norm.ppf(0.975) * d.std(ddof=1) / np.sqrt(len(d))
    assert low == pytest.approx(d.mean() - half, abs=0.2 * half)
    assert high == pytest.approx(d.mean() + half, abs=0.2 * half)

    per_seed = rng.normal(-0.05, 0.2, 300)
    a = np.repeat((3.0 + per_seed)[:, None], 5, axis=1)
    b = np.full((300, 5), 3.0)
    tokens = np.ones((300, 5))
    low, high = paired_bootstrap(a, tokens, b, tokens, n_boot=4000, seed=2)
    half = stats.norm.ppf(0.975) * per_seed.std(ddof=1) / np.sqrt(len(per_seed))
    assert low == pytest.approx(per_seed.mean() - half, abs=0.2 * half)
    assert high == pytest.approx(per_seed.mean() + half, abs=0.2 * half)
