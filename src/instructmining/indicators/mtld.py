"""MTLD (McCarthy & Jarvis 2010) of the response: lexical diversity, threshold 0.72.

Computed by `lexicalrichness` exactly as the paper names it. A response with no word that
lexicalrichness counts (empty, only digits or punctuation) has no MTLD: the value is null and
the run summary counts it.
"""

from __future__ import annotations

from importlib.metadata import version
from typing import Any

import pandas as pd

from instructmining.indicators.base import Indicator, RunContext


def mtld(text: str, threshold: float = 0.72) -> float | None:
    from lexicalrichness import LexicalRichness

    try:
        return float(LexicalRichness(text).mtld(threshold=threshold))
    except (ZeroDivisionError, ValueError):
        return None


class MtldIndicator(Indicator):
    names = ("mtld",)
    family = "mtld"
    version = "1"
    default_batch_size = 256
    precision_matters = False
    null_reason = (
        "the response has no word lexicalrichness counts (only digits, punctuation or symbols), "
        "so it has no lexical diversity; selectors rank such examples last, subset means skip them"
    )

    def params(self, frame: pd.DataFrame | None) -> dict[str, Any]:
        return {"threshold": 0.72, "lexicalrichness": version("lexicalrichness")}

    def compute(self, batch: pd.DataFrame, columns: list[str], ctx: RunContext) -> dict[str, list]:
        return {"mtld": [mtld(text) for text in batch.output]}
