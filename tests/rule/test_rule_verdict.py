"""The verdict follows the figures: both branches, the compare sentence and eval disagreement."""

from __future__ import annotations

from instructmining.rule.verdict import verdict

BEATS = [
    {"eval_set": "fit", "selector": "random", "diff": -0.05, "boot_low": -0.07, "boot_high": -0.03},
    {"eval_set": "holdout", "selector": "random", "diff": -0.04, "diff_low": -0.06,
     "diff_high": -0.02, "boot_low": -0.08, "boot_high": -0.01},
    {"eval_set": "mt_bench", "selector": "random", "diff": 0.01, "diff_low": -0.02,
     "diff_high": 0.04, "boot_low": -0.03, "boot_high": 0.05},
]  # fmt: skip


def test_not_better_than_chance_says_do_not_use_it():
    for p, r2 in ((0.4, 0.2), (0.01, -0.1), (0.05, 0.3)):
        text = verdict(p, r2, 0.1)
        assert "not better than chance" in text and "should not be used" in text
        assert f"permutation p = {p:.3g}" in text and f"CV R² = {r2:.3f}" in text


def test_better_than_chance_reports_the_held_out_intervals():
    text = verdict(0.005, 0.31, 0.55, BEATS)
    assert text.startswith("The rule predicts fine-tuning loss better than chance")
    assert (
        "On the held-out items its selection beats random (-0.0400, 95% CI -0.0800 to -0.0100"
        in text
    )
    assert "over items and seeds" in text
    assert "on mt_bench its selection does not differ from random" in text
    assert "fitted on" not in text  # the in-sample set is left out when others exist
    assert text.count(".") >= 2 and len(text.split(". ")) <= 3


def test_intervals_fall_back_to_seeds_and_to_the_fit_set():
    rows = [{"eval_set": "fit", "selector": "random", "diff": 0.02, "diff_low": 0.01,
             "diff_high": 0.03}]  # fmt: skip
    text = verdict(0.5, 0.0, None, rows)
    assert "CV Spearman = unmeasured" in text
    assert "on the items it was fitted on its selection is worse than random" in text.lower()
    assert "over seeds only" in text


def test_opposite_rankings_between_eval_sets_add_a_sentence():
    agreement = [
        {"a": "fit", "b": "mt_bench", "spearman": -0.6, "ci_low": -0.8, "ci_high": -0.3,
         "n_subsets": 24},
        {"a": "fit", "b": "holdout", "spearman": 0.7, "ci_low": 0.4, "ci_high": 0.9,
         "n_subsets": 24},
    ]  # fmt: skip
    text = verdict(0.01, 0.2, 0.4, eval_agreement=agreement)
    assert '"Good data" differs between fit and mt_bench' in text
    assert "holdout" not in text
