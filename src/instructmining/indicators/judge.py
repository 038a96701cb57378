"""An instruct LM rates each response 1-5 with AlpaGasus's rating prompt (Chen et al. 2024).

The prompt is AlpaGasus's accuracy-rating prompt (rating/chatgpt_rating.py in
gpt4life/alpagasus) with its 0-5 scale changed to 1-5. Instead of sampling a reply, the rating
is read from the next-token distribution: the expected value over the digits 1..5, their
probabilities renormalised, so it is deterministic and graded rather than a coarse integer.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import torch

from instructmining.errors import ModelLoadError
from instructmining.indicators.base import Indicator, RunContext
from instructmining.indicators.lm import last_logits
from instructmining.indicators.texts import chat_prompt, has_chat_template
from instructmining.models.loader import load_causal_lm

SYSTEM_PROMPT = (
    "We would like to request your feedback on the performance of AI assistant in response to "
    "the instruction and the given input displayed following."
)
TRIPLET = "###Instruction:\n{instruction}\n\n### Input:\n{input}\n\n### Response:\n{output}\n\n"
USER_PROMPT = (
    "Please rate according to the accuracy of the response to the instruction and the input. "
    "Each assistant receives a score on a scale of 1 to 5, where a higher score indicates "
    "higher level of the accuracy. Please first output a single line containing value "
    "indicating the scores. In the subsequent line, please provide a comprehensive "
    "explanation of your evaluation, avoiding any potential bias. \n\n"
)
RATINGS = (1, 2, 3, 4, 5)


def judge_prompt(tokenizer: Any, instruction: str, input_: str, output: str) -> str:
    """The full text the judge continues: chat template with system and user turn."""
    user = TRIPLET.format(instruction=instruction, input=input_, output=output) + USER_PROMPT
    if has_chat_template(tokenizer):
        turns = [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user}]
        return chat_prompt(tokenizer, turns)
    return f"{SYSTEM_PROMPT}\n\n{user}"


def digit_ids(tokenizer: Any) -> list[int]:
    """Token ids of "1".."5" as the judge would write them first."""
    ids = []
    for rating in RATINGS:
        pieces = tokenizer.encode(str(rating), add_special_tokens=False)
        if not pieces:
            raise ModelLoadError(tokenizer.name_or_path, f"tokenizer cannot write {rating!r}")
        ids.append(pieces[-1])
    return ids


def expected_rating(logits: Any, ids: list[int]) -> list[float]:
    """Expected rating under the next-token probabilities of the digits, renormalised."""
    probs = torch.softmax(logits[:, ids].float(), dim=-1)
    return (probs @ torch.tensor(RATINGS, dtype=torch.float32, device=probs.device)).tolist()


class JudgeIndicator(Indicator):
    names = ("judge",)
    family = "judge"
    version = "1"
    default_batch_size = 8
    max_batch_tokens = 8192

    def model_name(self) -> str:
        return self.options.judge_model

    def params(self, frame: pd.DataFrame | None) -> dict[str, Any]:
        return {"prompt": "alpagasus-accuracy-1to5", "max_length": self.options.max_length}

    def prepare(self, frame: pd.DataFrame, todo: pd.DataFrame, ctx: RunContext) -> None:
        self.lm = ctx.model(load_causal_lm, self.options.judge_model)
        self.shared_starts = getattr(self, "shared_starts", {})  # key/value caches of prompt starts
        self.digits = digit_ids(self.lm.tokenizer)
        self.tokenize(todo, self.lm.tokenizer)

    def tokenize(self, todo: pd.DataFrame, tokenizer: Any) -> None:
        self.ids = {row.id: self._encode(tokenizer, row) for row in todo.itertuples(index=False)}

    def _encode(self, tok: Any, row: Any) -> list[int]:
        """Prompt ids; an over-long response is shortened so the question and rubric stay."""
        limit = self.options.max_length
        special = not has_chat_template(tok)
        ids = tok(
            judge_prompt(tok, row.instruction, row.input, row.output), add_special_tokens=special
        )
        excess = len(ids["input_ids"]) - limit
        if excess <= 0:
            return ids["input_ids"]
        response = tok(row.output, add_special_tokens=False)["input_ids"]
        short = tok.decode(response[: max(0, len(response) - excess - 8)])
        ids = tok(judge_prompt(tok, row.instruction, row.input, short), add_special_tokens=special)
        return ids["input_ids"][-limit:]

    def lengths(self, todo: pd.DataFrame) -> np.ndarray:
        return np.array([len(self.ids[i]) for i in todo.id])

    def compute(self, batch: pd.DataFrame, columns: list[str], ctx: RunContext) -> dict[str, list]:
        seqs = [self.ids[i] for i in batch.id]
        with torch.inference_mode(), ctx.autocast():
            pad, device = self.lm.tokenizer.pad_token_id, self.lm.device
            logits = last_logits(self.lm.model, seqs, pad, device, self.shared_starts)
        return {"judge": expected_rating(logits, self.digits)}
