"""One sentence per statistic the report shows, printed beside it: a reader who has not met a
paired bootstrap or a VIF learns what the number says without leaving the page."""

from __future__ import annotations

from instructmining.report.html import esc

MEANINGS: dict[str, str] = {
    "permutation p": (
        "The share of reruns of the whole indicator search, each on the losses shuffled across "
        "subsets, that reach the rule's CV R²: how often noise alone yields a rule this good."
    ),
    "CV R²": (
        "The share of the variance of subsets' log loss that the rule predicts for subsets it "
        "was not fitted on (k-fold cross-validation); 0 or below is no better than the mean."
    ),
    "R²": (
        "The share of the variance of subsets' log loss that the rule explains on the subsets "
        "it was fitted on; optimistic, which is why CV R² is shown beside it."
    ),
    "adjusted R²": (
        "R² penalised for the number of indicators, so an indicator that explains nothing "
        "lowers it."
    ),
    "Spearman": (
        "The correlation of two rankings: 1 is the same order, 0 unrelated, −1 the reverse."
    ),
    "CV Spearman": (
        "Spearman between the rule's cross-validated predictions and the measured losses: "
        "whether it orders subsets it has not seen correctly."
    ),
    "paired t": (
        "A Student t interval over seeds of the per-seed differences (the same seed's runs of "
        "both selectors paired): it counts training noise only."
    ),
    "paired bootstrap": (
        "An interval from resampling evaluation items and seeds together, each item and seed "
        "paired across the two selectors: it counts the noise of a finite evaluation set as "
        "well as training noise."
    ),
    "Student t CI": (
        "The mean over seeds ± the t quantile times its standard error: where the mean of many "
        "more seeds would likely lie."
    ),
    "bootstrap over subsets": (
        "An interval from resampling the subsets with replacement and recomputing the "
        "correlation each time."
    ),
    "SE": (
        "The coefficient's standard error: how much it would move between refits on new subsets."
    ),
    "p": (
        "The chance of a coefficient this far from zero if the indicator had no effect (t "
        "test); with many indicator sets tried, the permutation p is the one to trust."
    ),
    "p of a difference": (
        "The chance of a difference this large if both selectors gave the same loss (t test "
        "over seeds: paired where the seeds pair, Welch's otherwise)."
    ),
    "VIF": (
        "Variance inflation factor: how much correlation with the other indicators widens the "
        "coefficient's interval (above 5, the coefficient is unstable)."
    ),
    "standardised": (
        "The change in log loss for a one-standard-deviation rise of the indicator, comparable "
        "across indicators."
    ),
    "seed noise": (
        "The pooled standard deviation of eval loss between seeds of the same subset: smaller "
        "differences than this are training noise."
    ),
    "subset spread": (
        "The standard deviation of the subsets' mean eval loss: the signal a rule has to "
        "explain, to set against the seed noise."
    ),
    "D-efficiency": (
        "det(X'X/N)^(1/p) of the subsets' standardised indicator means with an intercept: "
        "higher means tighter rule coefficients from the same number of fine-tunes (0: some "
        "coefficient cannot be fitted)."
    ),
}


def explain(*terms: str) -> str:
    """The meaning of each of `terms`, as a short list to print under the figures."""
    items = "".join(f"<li><b>{esc(t)}</b>: {esc(MEANINGS[t])}</li>" for t in terms)
    return f'<ul class="explain">{items}</ul>'
