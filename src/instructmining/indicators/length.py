"""Input and output length in tokens of the configured tokenizer (the LM's by default).

The input is what the user sends (instruction, then its input); special tokens and chat
scaffolding are not counted, so lengths compare across tokenizers' templates.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from instructmining.indicators.base import Indicator, RunContext
from instructmining.indicators.texts import user_text
from instructmining.models.loader import load_tokenizer


def _tokenizer(name: str, _device: str) -> Any:
    return load_tokenizer(name)


class LengthIndicator(Indicator):
    names = ("length",)
    family = "length"
    version = "1"
    default_batch_size = 512
    precision_matters = False

    def outputs(self) -> list[str]:
        return ["input_len", "output_len"]

    def model_name(self) -> str:
        return self.options.length_tokenizer or self.options.lm

    def prepare(self, frame: pd.DataFrame, todo: pd.DataFrame, ctx: RunContext) -> None:
        self.tokenizer = ctx.model(_tokenizer, self.model_name())

    def compute(self, batch: pd.DataFrame, columns: list[str], ctx: RunContext) -> dict[str, list]:
        users = [user_text(i, x) for i, x in zip(batch.instruction, batch.input, strict=True)]
        return {
            "input_len": self._count(users),
            "output_len": self._count(list(batch.output)),
        }

    def _count(self, texts: list[str]) -> list[Any]:
        return [len(ids) for ids in self.tokenizer(texts, add_special_tokens=False)["input_ids"]]

    def derive(self, raw: pd.DataFrame) -> pd.DataFrame:
        return raw[self.outputs()].astype("Int64")
