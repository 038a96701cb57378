"""Selectors: one scoring method each, lower score = better example.

The rule and every baseline sit behind this one interface, so `select`, `search` and `compare`
treat them alike. Directions of the single-indicator baselines, and why:

- `reward`: higher is better: a reward model trained on human preference rankings scores the
  response (the paper's rules give reward a negative weight on loss).
- `ifd`: higher is better, as in Cherry LLM (Li et al., "From Quantity to Quality", NAACL 2024):
  a high instruction-following difficulty marks examples the model still has to learn. Examples
  with IFD >= 1 (the instruction does not help predict the response) rank last, as they filter
  them out.
- `length`: longer responses are better (Zhao et al., "Long Is More for Alignment", ICML 2024:
  the 1,000 longest responses are a strong baseline).
- `ppl`: lower is better: classic perplexity filtering keeps the text the reference model finds
  fluent (Wenzek et al., CCNet, 2020); note Marion et al. (2023) found middle or high perplexity
  better for pre-training data, so this is the conventional, not the settled, direction.
- `mtld`: higher is better: more lexically diverse responses (McCarthy & Jarvis 2010).
- `knn`: higher is better: a larger distance to the k nearest neighbours marks a rarer example
  (the v1 rule gives Knn6 a negative weight on loss).
- `judge`: higher is better: the instruct LM's expected 1-5 rating of the response (AlpaGasus,
  Chen et al. 2024, keeps the examples its judge rates highest).
- `unieval`: higher is better: the mean of UniEval's naturalness, coherence and
  understandability, each P(Yes) (UniEval's own overall score is that mean; Zhong et al. 2022).
- `random`: a seeded uniform draw.
- `mixture`: examples drawn (seeded) in the source shares the fitted mixture rule predicts best
  (RegMix): asks whether the indicators add anything beyond the choice of sources.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

import numpy as np
import pandas as pd

from instructmining.errors import UserError, param
from instructmining.indicators.unieval import DIMENSIONS as UNIEVAL_COLUMNS
from instructmining.rule.model import Rule


class Selector:
    """Scores examples from their indicator values; lower = better. Subclasses set `name`."""

    def columns(self) -> list[str]:
        """Indicator columns the score needs."""
        return []

    def score(self, table: pd.DataFrame, seed: int = 0) -> np.ndarray:
        raise NotImplementedError


@dataclass
class RuleSelector(Selector):
    """The rule's predicted log eval loss."""

    rule: Rule
    name = "rule"

    def columns(self) -> list[str]:
        return list(self.rule.indicators)

    def score(self, table: pd.DataFrame, seed: int = 0) -> np.ndarray:
        return self.rule.predict(table)


class RandomSelector(Selector):
    name = "random"

    def score(self, table: pd.DataFrame, seed: int = 0) -> np.ndarray:
        return np.random.default_rng(seed).random(len(table))


@dataclass
class IndicatorSelector(Selector):
    """Top examples by one indicator column."""

    name: str
    column: str
    higher_is_better: bool
    below: float | None = None  # values at or above this rank last (IFD >= 1)

    def columns(self) -> list[str]:
        return [self.column]

    def score(self, table: pd.DataFrame, seed: int = 0) -> np.ndarray:
        values = table[self.column].to_numpy(dtype=float)
        score = -values if self.higher_is_better else values.copy()
        if self.below is not None:
            score[values >= self.below] = np.inf
        return score


@dataclass
class MeanSelector(Selector):
    """Top examples by the mean of several indicator columns (UniEval's overall score)."""

    name: str
    parts: tuple[str, ...]
    higher_is_better: bool

    def columns(self) -> list[str]:
        return list(self.parts)

    def score(self, table: pd.DataFrame, seed: int = 0) -> np.ndarray:
        values = table[list(self.parts)].to_numpy(dtype=float).mean(axis=1)  # NaN ranks last
        return -values if self.higher_is_better else values


@dataclass
class MixtureSelector(Selector):
    """A seeded draw whose top n follows the predicted best source mixture at every n."""

    shares: dict[str, float]
    name = "mixture"

    def score(self, table: pd.DataFrame, seed: int = 0) -> np.ndarray:
        from instructmining.rule.mixture import mixture_scores

        if "source" not in table.columns:
            raise UserError("the mixture selector needs the pool's source column")
        return mixture_scores(table["source"], self.shares, seed)


BASELINES = {
    "ifd": lambda k: IndicatorSelector("ifd", "ifd", True, below=1.0),
    "reward": lambda k: IndicatorSelector("reward", "reward", True),
    "length": lambda k: IndicatorSelector("length", "output_len", True),
    "ppl": lambda k: IndicatorSelector("ppl", "ppl", False),
    "mtld": lambda k: IndicatorSelector("mtld", "mtld", True),
    "knn": lambda k: IndicatorSelector("knn", f"knn{k}", True),
    "judge": lambda k: IndicatorSelector("judge", "judge", True),
    "unieval": lambda k: MeanSelector("unieval", tuple(UNIEVAL_COLUMNS), True),
}
SELECTORS = ("rule", "random", "mixture", *BASELINES)
# compare's extra baseline: the rule's unconstrained top n, beside its selection inside the
# evidence (an extrapolation; selection/compare.py).
RULE_TOP = "rule-top"
RULE_TOP_MEANS = (
    "the rule's unconstrained top n, an extrapolation: it may lie where no tested subset came, "
    "so the rule's prediction for it is untested"
)
COMPARE_BASELINES = (RULE_TOP, "mixture", *BASELINES)


def get_selector(name: str, rule: Rule | None = None, knn_k: int = 6) -> Selector:
    """The selector called `name`; `rule` is needed for the rule selector."""
    if name == "rule":
        if rule is None:
            raise UserError(f"the rule selector needs a rule ({param('rule')})")
        return RuleSelector(rule)
    if name == "random":
        return RandomSelector()
    if name == "mixture":
        mixture = (rule.info.get("mixture") if rule is not None else None) or {}
        if not mixture.get("best_mixture"):
            raise UserError(
                f"the mixture selector needs a fitted rule with a mixture fit ({param('rule')})"
            )
        return MixtureSelector(dict(mixture["best_mixture"]))
    if name in BASELINES:
        return BASELINES[name](knn_k)
    hint = difflib.get_close_matches(name, SELECTORS, n=1)
    did_you_mean = f"; did you mean {hint[0]!r}?" if hint else ""
    raise UserError(f"unknown selector {name!r} (choose from {', '.join(SELECTORS)}){did_you_mean}")
