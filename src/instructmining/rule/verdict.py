"""One or two plain sentences on whether to use the rule, derived only from its figures.

A user reads this first (after fit, compare, run and demo, and at the top of the report), so it
says "not better than chance" whenever the numbers do, whatever the rest of the output shows.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

ALPHA = 0.05
FIT_SET = "fit"
_LABELS = {FIT_SET: "the items it was fitted on", "holdout": "the held-out items"}


def _ok(value: float | None) -> bool:
    return value is not None and not math.isnan(value)


def _num(value: float | None, fmt: str = ".3f") -> str:
    return format(value, fmt) if _ok(value) else "unmeasured"


def better_than_chance(permutation_p: float | None, cv_r2: float | None) -> bool:
    """The rule's bar: a permutation p below 0.05 and a positive cross-validated R²."""
    return _ok(permutation_p) and _ok(cv_r2) and permutation_p < ALPHA and cv_r2 > 0


def _label(eval_set: str) -> str:
    return _LABELS.get(eval_set, f"{eval_set}" if eval_set != "test" else "the test set")


DECIDING_INTERVAL = (
    "The verdict's comparison with random is decided by the paired bootstrap interval over "
    "items and seeds; the paired t interval over seeds decides only where no bootstrap could "
    "be made (no per-item losses)."
)


def _interval(row: Mapping[str, Any]) -> tuple[float, float, str] | None:
    """The interval that decides (DECIDING_INTERVAL): the bootstrap, else the t over seeds."""
    if _ok(row.get("boot_low")) and _ok(row.get("boot_high")):
        return row["boot_low"], row["boot_high"], "items and seeds"
    if _ok(row.get("diff_low")) and _ok(row.get("diff_high")):
        return row["diff_low"], row["diff_high"], "seeds only"
    return None


def random_outcomes(rows: Iterable[Mapping[str, Any]]) -> list[tuple[str, str, str]]:
    """(evaluation set, "beats" | "is worse than" | "does not differ from", interval) of the
    rule's selection (compare's rule arm) against random on each non-fit evaluation set (the
    fit set only when there is no other), by the deciding interval."""
    vs_random = [r for r in rows if r.get("selector") == "random" and _ok(r.get("diff"))]
    others = [r for r in vs_random if r.get("eval_set", FIT_SET) != FIT_SET]
    found = []
    for row in others or vs_random:
        interval = _interval(row)
        if interval is None:
            continue
        low, high, noise = interval
        ci = f"{row['diff']:+.4f}, 95% CI {low:+.4f} to {high:+.4f} over {noise}"
        outcome = "beats" if high < 0 else "is worse than" if low > 0 else "does not differ from"
        found.append((str(row.get("eval_set", FIT_SET)), outcome, ci))
    return found


def _against_random(rows: list[Mapping[str, Any]]) -> str | None:
    """'on X its selection beats random by D (95% CI ...)' for each non-fit evaluation set (the fit
    set only when there is no other)."""
    parts = [
        f"on {_label(where)} its selection {outcome} random ({ci})"
        for where, outcome, ci in random_outcomes(rows)
    ]
    return "; ".join(parts) if parts else None


def verdict(
    permutation_p: float | None,
    cv_r2: float | None,
    cv_spearman: float | None,
    intervals: Iterable[Mapping[str, Any]] | None = None,
    eval_agreement: Iterable[Mapping[str, Any]] | None = None,
) -> str:
    """The verdict; `intervals` are compare's summary rows (eval_set, selector, diff, diff_low,
    diff_high, boot_low, boot_high: differences rule - selector), `eval_agreement` the fit's
    rank agreement between evaluation sets (a, b, spearman, ci_low, ci_high, n_subsets)."""
    figures = (
        f"permutation p = {_num(permutation_p, '.3g')}, CV R² = {_num(cv_r2)}, "
        f"CV Spearman = {_num(cv_spearman)}"
    )
    if better_than_chance(permutation_p, cv_r2):
        first = f"The rule predicts fine-tuning loss better than chance ({figures})."
    else:
        first = (
            f"The rule is not better than chance ({figures}) and should not be used for selection."
        )
    sentences = [first]
    compared = _against_random(list(intervals or []))
    if compared:
        sentences.append(compared[0].upper() + compared[1:] + ".")
    for pair in eval_agreement or []:
        if _ok(pair.get("ci_high")) and pair["ci_high"] < 0:
            sentences.append(
                f'"Good data" differs between {pair["a"]} and {pair["b"]}: they rank the '
                f"{pair.get('n_subsets', '')} subsets in opposite order (Spearman "
                f"{pair['spearman']:.2f}, 95% CI {pair['ci_low']:.2f} to {pair['ci_high']:.2f})."
            )
    return " ".join(sentences)


def rule_verdict(
    info: Mapping[str, Any], intervals: Iterable[Mapping[str, Any]] | None = None
) -> str:
    """The verdict from a rule.json's info (its fit statistics and evaluation-set agreement)."""
    fit = info.get("fit", {})
    return verdict(
        fit.get("permutation_p"),
        fit.get("cv_r2"),
        fit.get("cv_spearman"),
        intervals,
        info.get("eval_agreement"),
    )


def selection_warning(model: str, info: Mapping[str, Any]) -> str | None:
    """What `select` prints before applying a rule: a note for published rules (fitted
    elsewhere, exempt), a warning for a fitted rule not shown better than chance, else None."""
    if model == "published":
        return (
            "note: a published rule (fitted on the paper's runs, not here): no permutation "
            "test applies to it"
        )
    fit = info.get("fit", {})
    p, cv_r2 = fit.get("permutation_p"), fit.get("cv_r2")
    if better_than_chance(p, cv_r2):
        return None
    return (
        f"warning: this rule is not shown better than chance (permutation p = {_num(p, '.3g')}, "
        f"CV R² = {_num(cv_r2)}); its selection may be no better than random (--force silences)"
    )
