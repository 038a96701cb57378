"""Reward-model score of (instruction, response): the first logit of a sequence classifier.

The paper's model is OpenAssistant's Pythia reward model, which reads
`<|prompter|>{q}<|endoftext|><|assistant|>{a}<|endoftext|>`; other reward models can be fed
their chat template (`chat`) or "question, blank line, answer" (`plain`). Long inputs lose
their start, so the response and its closing token are always scored.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import torch

from instructmining.data.example import conversation
from instructmining.indicators.base import Indicator, RunContext
from instructmining.indicators.lm import final_hidden, pad_right
from instructmining.indicators.options import truncation_note
from instructmining.indicators.texts import has_chat_template, messages, user_text
from instructmining.models.loader import load_sequence_classifier


def format_pair(
    tokenizer: Any,
    fmt: str,
    question: str,
    answer: str,
    turns: list[dict[str, str]] | None = None,
) -> str:
    """The reward model's input text for one (question, answer) pair; `turns`, a conversation
    kept whole, puts every earlier user and assistant turn before the answer it scores (the
    oasst and chat formats are multi-turn; plain text keeps the transcript in `question`)."""
    chat = [t for t in turns or messages("", question, answer) if t["role"] != "system"]
    if fmt == "oasst":
        tags = {"user": "<|prompter|>", "assistant": "<|assistant|>"}
        return "".join(f"{tags[t['role']]}{t['content']}<|endoftext|>" for t in chat)
    if fmt == "chat" and has_chat_template(tokenizer):
        return tokenizer.apply_chat_template(chat, tokenize=False)
    return f"{question}\n\n{answer}"


def sequence_scores(model: Any, ids: Any, mask: Any) -> Any:
    """logits[:, 0] of a right-padded batch.

    Decoder classifiers (a linear `score` head, as GPT-NeoX, Llama and GPT-2 have) are read at
    the last real token found from the attention mask: transformers finds it from the pad id,
    which goes wrong when the pad token is the EOS token that ends the OA format.
    """
    head = getattr(model, "score", None)
    if isinstance(head, torch.nn.Linear) and not model.config.is_encoder_decoder:
        hidden = final_hidden(model, ids, mask)
        last = mask.sum(dim=1) - 1
        return head(hidden[torch.arange(len(ids), device=ids.device), last]).float()[:, 0]
    return model(input_ids=ids, attention_mask=mask).logits.float()[:, 0]


class RewardIndicator(Indicator):
    names = ("reward",)
    family = "reward"
    version = "1"
    default_batch_size = 8
    max_batch_tokens = 8192

    def model_name(self) -> str:
        return self.options.reward_model

    def params(self, frame: pd.DataFrame | None) -> dict[str, Any]:
        return {"format": self.options.reward_format, "max_length": self.options.max_length}

    def prepare(self, frame: pd.DataFrame, todo: pd.DataFrame, ctx: RunContext) -> None:
        self.rm = ctx.model(load_sequence_classifier, self.options.reward_model)
        self.tokenize(todo, self.rm.tokenizer)
        note = truncation_note("reward", self.cut, len(todo), self.options.max_length)
        ctx.notes.extend([note] if note else [])

    def tokenize(self, todo: pd.DataFrame, tokenizer: Any) -> None:
        fmt = self.options.reward_format
        texts = [
            format_pair(
                tokenizer,
                fmt,
                user_text(row.instruction, row.input),
                row.output,
                conversation(row._asdict()),
            )
            for row in todo.itertuples(index=False)
        ]
        ids = tokenizer(texts, add_special_tokens=fmt != "chat")["input_ids"]
        self.cut = sum(len(seq) > self.options.max_length for seq in ids)
        self.ids = {i: seq[-self.options.max_length :] for i, seq in zip(todo.id, ids, strict=True)}

    def lengths(self, todo: pd.DataFrame) -> np.ndarray:
        return np.array([len(self.ids[i]) for i in todo.id])

    def compute(self, batch: pd.DataFrame, columns: list[str], ctx: RunContext) -> dict[str, list]:
        seqs = [self.ids[i] for i in batch.id]
        ids, mask = pad_right(seqs, self.rm.tokenizer.pad_token_id, self.rm.device)
        with torch.inference_mode(), ctx.autocast():
            scores = sequence_scores(self.rm.model, ids, mask)
        return {"reward": scores.tolist()}
