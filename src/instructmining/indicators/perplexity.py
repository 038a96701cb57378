"""Perplexity of the response given the instruction, and IFD, from one model and one set of batches.

ppl = exp(mean NLL of the response tokens after the prompt); the prompt is the model's chat
template with the example's system message and the user turn (plain "### Instruction" text when
the model has no template). For a conversation kept whole the response is its last assistant
turn and the prompt every turn before it, through the same template. IFD (Li et al. 2023) =
ppl(response | instruction) / ppl(response alone). "Alone" keeps the same scaffolding with an
empty user turn, so both perplexities score exactly the same response tokens and differ only by
the instruction.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch

from instructmining.data.example import conversation
from instructmining.indicators.base import Indicator, RunContext
from instructmining.indicators.lm import response_nll
from instructmining.indicators.options import truncation_note
from instructmining.indicators.texts import chat_prompt, has_chat_template, messages, user_text
from instructmining.models.loader import load_causal_lm

PLAIN_PROMPT = "### Instruction:\n{user}\n\n### Response:\n"


@dataclass(frozen=True)
class Encoded:
    """Token ids of one example: prompt with instruction, prompt without, and the response."""

    prefix: list[int]
    alone: list[int]
    response: list[int]


def _start_token(tokenizer: Any) -> list[int]:
    """A one-token prefix for an empty prompt, so the first response token is scored too."""
    token = tokenizer.bos_token_id if tokenizer.bos_token_id is not None else tokenizer.eos_token_id
    return [token]


def encode(
    tokenizer: Any,
    system: str,
    user: str,
    output: str,
    max_length: int,
    history: list[dict[str, str]] | None = None,
) -> Encoded:
    """Ids of prompt, empty-user prompt and response; long prompts keep their end.

    `history` is a conversation kept whole up to its last user turn: the template then shows
    every earlier turn before the response, as a chat fine-tune sees it."""
    if has_chat_template(tokenizer):
        turns = history if history is not None else messages(system, user)
        prompt = chat_prompt(tokenizer, turns)
        full = tokenizer.apply_chat_template(
            [*turns, {"role": "assistant", "content": output}], tokenize=False
        )
        alone = chat_prompt(tokenizer, messages(system, ""))
        special = False  # the template writes its own BOS where the model wants one
        eos: list[int] = []
        if full.startswith(prompt):
            response_text = full[len(prompt) :]
        else:  # templates that rewrite earlier turns: score the bare response and EOS
            response_text, eos = output, [tokenizer.eos_token_id]
    else:
        head = f"{system}\n\n" if system else ""
        prompt, alone = head + PLAIN_PROMPT.format(user=user), head + PLAIN_PROMPT.format(user="")
        response_text, special, eos = output, True, [tokenizer.eos_token_id]
    prefix = tokenizer(prompt, add_special_tokens=special)["input_ids"] or _start_token(tokenizer)
    alone_ids = tokenizer(alone, add_special_tokens=special)["input_ids"] or _start_token(tokenizer)
    response = tokenizer(response_text, add_special_tokens=False)["input_ids"] + eos
    keep_prefix = max_length // 2
    prefix, alone_ids = prefix[-keep_prefix:], alone_ids[-keep_prefix:]
    response = response[: max_length - max(len(prefix), len(alone_ids))]
    return Encoded(prefix=prefix, alone=alone_ids, response=response)


def _exp(x: float) -> float:
    return math.exp(x) if x < 700 else math.inf


class PerplexityIndicator(Indicator):
    """`ppl` and `ifd`: asking for ifd alone still runs the conditional pass (and caches it)."""

    names = ("ppl", "ifd")
    family = "perplexity"
    # 2: bf16 runs score tokens from a bf16 softmax (values move by < 0.4%); 3: each pass is
    # batched by its own lengths (bf16 values of ppl_alone move within bf16 noise)
    version = "3"
    default_batch_size = 16
    max_batch_tokens = 8192

    def model_name(self) -> str:
        return self.options.lm

    def stored(self) -> list[str]:
        return ["ppl", "ppl_alone"] if "ifd" in self.requested else ["ppl"]

    def params(self, frame: pd.DataFrame | None) -> dict[str, Any]:
        return {"max_length": self.options.max_length}

    def prepare(self, frame: pd.DataFrame, todo: pd.DataFrame, ctx: RunContext) -> None:
        self.lm = ctx.model(load_causal_lm, self.options.lm)
        self.shared_starts = getattr(self, "shared_starts", {})  # key/value caches of prompt starts
        self.tokenize(todo, self.lm.tokenizer)
        note = truncation_note("+".join(self.requested), self.cut, len(todo), self.max_length)
        ctx.notes.extend([note] if note else [])

    def tokenize(self, todo: pd.DataFrame, tokenizer: Any) -> None:
        self.max_length = max_length = self.options.max_length
        self.encoded, self.cut = {}, 0
        for row in todo.itertuples(index=False):
            user = user_text(row.instruction, row.input)
            kept = conversation(row._asdict())
            history = kept[:-1] if kept else None  # the turns before the scored response
            encoded = encode(tokenizer, row.system, user, row.output, max_length, history)
            if len(encoded.prefix) + len(encoded.response) >= max_length // 2:  # maybe cut
                full = encode(tokenizer, row.system, user, row.output, 1 << 30, history)
                self.cut += full != encoded
            self.encoded[row.id] = encoded

    def lengths(self, todo: pd.DataFrame) -> np.ndarray:
        return self._tokens(todo, "prefix")

    def pass_lengths(self, todo: pd.DataFrame) -> dict[str, np.ndarray]:
        """Tokens of each pass: the empty-user prompt is short and fixed, so batching the
        second pass by the first's lengths left 18% of its tokens as padding on Alpaca."""
        return {"ppl": self._tokens(todo, "prefix"), "ppl_alone": self._tokens(todo, "alone")}

    def _tokens(self, todo: pd.DataFrame, prompt: str) -> np.ndarray:
        return np.array(
            [len(getattr(self.encoded[i], prompt)) + len(self.encoded[i].response) for i in todo.id]
        )

    def compute(self, batch: pd.DataFrame, columns: list[str], ctx: RunContext) -> dict[str, list]:
        encoded = [self.encoded[i] for i in batch.id]
        pad, out = self.lm.tokenizer.pad_token_id, {}
        with torch.inference_mode(), ctx.autocast():
            for column in columns:
                pairs = [(e.prefix if column == "ppl" else e.alone, e.response) for e in encoded]
                nll = response_nll(self.lm.model, pairs, pad, self.lm.device, self.shared_starts)
                out[column] = [_exp(s / len(e.response)) for s, e in zip(nll, encoded, strict=True)]
        return out

    def derive(self, raw: pd.DataFrame) -> pd.DataFrame:
        out = pd.DataFrame(index=raw.index)
        if "ppl" in self.requested:
            out["ppl"] = raw["ppl"]
        if "ifd" in self.requested:
            out["ifd"] = raw["ppl"] / raw["ppl_alone"]
        return out
