"""UniEval dialogue scores (Zhong et al. 2022): naturalness, coherence, understandability.

Built as UniEval's own `DialogEvaluator` builds them: one Boolean question per dimension
(`add_question` for the dialogue task), a T5 read at its first decoder step, and the score
P(Yes) / (P(Yes) + P(No)) over the full-vocabulary softmax. UniEval scores these three
dimensions on the whole response (only engagingness goes sentence by sentence), uses the
dialogue history for coherence only, and truncates inputs at 1,024 tokens.

An instruction example is a one-turn dialogue: the history is the user's instruction and its
input, one per line, ended by UniEval's " \\n\\n" history terminator.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import torch

from instructmining.indicators.base import Indicator, RunContext
from instructmining.models.loader import load_seq2seq

DIMENSIONS = {
    "unieval_nat": "naturalness",
    "unieval_coh": "coherence",
    "unieval_und": "understandability",
}
MAX_LENGTH = 1024  # UniEvaluator's default


def dialogue_history(instruction: str, input_: str) -> str:
    """UniEval's history format: turns separated by ' \\n ', ended by ' \\n\\n'."""
    return " \n ".join(t for t in (instruction, input_) if t) + " \n\n"


def boolqa_input(dimension: str, output: str, history: str = "") -> str:
    """UniEval's Boolean-QA input for a dialogue dimension (utils.add_question, task dialogue)."""
    if dimension == "naturalness":
        return "question: Is this a natural response in the dialogue? </s> response: " + output
    if dimension == "coherence":
        return (
            "question: Is this a coherent response given the dialogue history? </s> response: "
            + output
            + " </s> dialogue history: "
            + history
        )
    if dimension == "understandability":
        return (
            "question: Is this an understandable response in the dialogue? </s> response: " + output
        )
    raise ValueError(f"no UniEval question for dimension {dimension!r}")


def yes_no_ids(tokenizer: Any) -> tuple[int, int]:
    """The first token of "Yes" and of "No", as UniEvaluator picks them."""
    return tokenizer("Yes")["input_ids"][0], tokenizer("No")["input_ids"][0]


def boolqa_scores(loaded: Any, inputs: list[str]) -> list[float]:
    """P(Yes) / (P(Yes) + P(No)) at the first decoder step, for each input."""
    model, tok = loaded.model, loaded.tokenizer
    enc = tok(inputs, max_length=MAX_LENGTH, truncation=True, padding=True, return_tensors="pt")
    enc = enc.to(loaded.device)
    start = torch.full((len(inputs), 1), model.config.decoder_start_token_id, device=loaded.device)
    logits = model(
        input_ids=enc["input_ids"], attention_mask=enc["attention_mask"], decoder_input_ids=start
    ).logits[:, 0]
    probs = torch.softmax(logits.float(), dim=-1)
    yes, no = yes_no_ids(tok)
    return (probs[:, yes] / (probs[:, yes] + probs[:, no])).tolist()


class UniEvalIndicator(Indicator):
    names = ("unieval",)
    family = "unieval"
    version = "1"
    default_batch_size = 8

    def outputs(self) -> list[str]:
        return list(DIMENSIONS)

    def model_name(self) -> str:
        return self.options.unieval_model

    def params(self, frame: pd.DataFrame | None) -> dict[str, Any]:
        return {"max_length": MAX_LENGTH, "task": "dialogue"}

    def prepare(self, frame: pd.DataFrame, todo: pd.DataFrame, ctx: RunContext) -> None:
        self.evaluator = ctx.model(load_seq2seq, self.options.unieval_model)
        self.evaluator.tokenizer.padding_side = "right"

    def compute(self, batch: pd.DataFrame, columns: list[str], ctx: RunContext) -> dict[str, list]:
        histories = [
            dialogue_history(i, x) for i, x in zip(batch.instruction, batch.input, strict=True)
        ]
        out = {}
        with torch.inference_mode(), ctx.autocast():
            for column in columns:
                inputs = [
                    boolqa_input(DIMENSIONS[column], output, history)
                    for output, history in zip(batch.output, histories, strict=True)
                ]
                out[column] = boolqa_scores(self.evaluator, inputs)
        return out
