"""One run: fine-tune the warm base model on a subset, then measure the loss on evaluation sets.

A plain loop (AdamW, warm-up then cosine/linear decay, gradient accumulation and clipping) over
length-grouped batches; everything random is drawn from the run's seed, so the same seed gives
the same losses.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from instructmining.experiments.batching import collate, length_batches
from instructmining.experiments.config import ExperimentConfig, optimizer_steps
from instructmining.experiments.encoding import Encoded, encode_all
from instructmining.experiments.model import WarmModel, warm_model
from instructmining.hashing import hash_object
from instructmining.indicators.lm import response_nll

# Progress of a run: (steps done, steps in all, status text).
StepCallback = Callable[[int, int, str], None]

_SCHEDULES = {"cosine": "cosine", "linear": "linear", "constant": "constant_with_warmup"}


@dataclass
class RunResult:
    """What one run measured; `train_loss` is NaN when nothing was trained (the baseline)."""

    eval_loss: float
    train_loss: float
    examples: int
    tokens: int
    seconds: float
    test_losses: dict[str, float] = field(default_factory=dict)
    # Per evaluation set ("" = the main one): each item's summed token loss and token count.
    item_losses: dict[str, tuple[list[float], list[int]]] = field(default_factory=dict)


def _records(examples: pd.DataFrame | Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    if isinstance(examples, pd.DataFrame):
        return examples.to_dict("records")
    return list(examples)


def train(
    warm: WarmModel,
    encoded: list[Encoded],
    config: ExperimentConfig,
    seed: int,
    on_step: StepCallback | None = None,
) -> tuple[float, int]:
    """Fine-tune from the base weights; returns (mean token loss of the last epoch, tokens seen)."""
    from transformers import get_scheduler

    warm.reset(seed)
    params = warm.trainable()
    for param in params:  # a run that failed mid-step may have left gradients behind
        param.grad = None
    optimizer = torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
    lengths = [len(e.ids) for e in encoded]
    total = optimizer_steps(len(encoded), config)
    scheduler = get_scheduler(
        _SCHEDULES[config.schedule],
        optimizer,
        num_warmup_steps=math.ceil(config.warmup * total),
        num_training_steps=total,
    )
    warm.model.train()
    step, tokens = 0, 0
    for epoch in range(config.epochs):
        rng = np.random.default_rng([seed, epoch])
        batches = length_batches(lengths, config.batch_size, rng)
        epoch_loss, epoch_count = 0.0, 0
        for first in range(0, len(batches), config.grad_accum):
            group = [[encoded[i] for i in b] for b in batches[first : first + config.grad_accum]]
            count = max(sum(e.loss_tokens for batch in group for e in batch), 1)
            step_loss = 0.0
            for batch in group:
                ids, labels = collate(batch, warm.pad_id)
                with warm.autocast():
                    loss, _ = warm.loss_sum(ids, labels)
                (loss / count).backward()
                step_loss += loss.item()
                tokens += sum(len(e.ids) for e in batch)
            torch.nn.utils.clip_grad_norm_(params, config.max_grad_norm)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            epoch_loss, epoch_count = epoch_loss + step_loss, epoch_count + count
            step += 1
            if on_step is not None:
                on_step(step, total, f"epoch {epoch + 1} loss {step_loss / count:.3f}")
    return epoch_loss / max(epoch_count, 1), tokens


def _fp32_nll(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Token losses as training measures them: cross-entropy of the logits cast to fp32."""
    return F.cross_entropy(logits.float(), targets, reduction="none")


def _batch_losses(warm: WarmModel, items: list[Encoded], memo: dict) -> list[float]:
    """Each item's summed response-token loss. The prompt start every row shares (the chat
    template's system prompt and user header) comes from one cached forward (`memo`)."""
    if warm._head is None:  # logits are not just head(hidden): the model's own forward
        return warm.row_losses(*collate(items, warm.pad_id))[0]
    cuts = [max(e.prompt_len, 1) for e in items]  # a prompt-less item scores from token 2
    pairs = [(list(e.ids[:k]), list(e.ids[k:])) for e, k in zip(items, cuts, strict=True)]
    return response_nll(warm.causal_lm, pairs, warm.pad_id, warm.device, memo, nll=_fp32_nll)


@torch.no_grad()
def evaluate_items(
    warm: WarmModel, encoded: list[Encoded], batch_size: int
) -> tuple[list[float], list[int]]:
    """Summed response-token loss and token count of each item, in the items' order.

    Batches are sorted by length; the shared prompt start runs once per evaluation (the model
    does not change during one), and LoRA adapters are merged into the weights while it runs.
    """
    warm.model.eval()
    sums, counts = [0.0] * len(encoded), [e.loss_tokens for e in encoded]
    memo: dict = {}
    with warm.merged_adapters():
        for batch in length_batches([len(e.ids) for e in encoded], batch_size):
            with warm.autocast():
                losses = _batch_losses(warm, [encoded[i] for i in batch], memo)
            for i, loss in zip(batch, losses, strict=True):
                sums[i] = float(loss)
    return sums, counts


def evaluate_sets(
    warm: WarmModel, sets: dict[str, list[Encoded]], batch_size: int
) -> dict[str, tuple[list[float], list[int]]]:
    """Each set's item losses from one evaluation of the distinct items of all sets: an item in
    two sets is scored once, and a small set's items fill batches with the others'."""
    unique = list(dict.fromkeys(e for items in sets.values() for e in items))
    where = {e: i for i, e in enumerate(unique)}
    sums, counts = evaluate_items(warm, unique, batch_size)
    return {
        name: ([sums[where[e]] for e in items], [counts[where[e]] for e in items])
        for name, items in sets.items()
    }


def _base_evaluation(
    warm: WarmModel, sets: dict[str, list[Encoded]], batch_size: int
) -> dict[str, tuple[list[float], list[int]]]:
    """The base model's item losses, computed once per process for the same items: every
    runs table (experiments, search, compare) records a baseline on the same sets."""
    key = hash_object([[(n, [(e.ids, e.prompt_len) for e in s]) for n, s in sets.items()]])
    if key not in warm.base_items:
        with warm.base_weights():
            warm.base_items[key] = evaluate_sets(warm, sets, batch_size)
    return {n: (list(s), list(c)) for n, (s, c) in warm.base_items[key].items()}


def finetune_and_evaluate(
    examples: pd.DataFrame | Sequence[dict[str, Any]],
    eval_examples: pd.DataFrame | Sequence[dict[str, Any]],
    config: ExperimentConfig,
    seed: int | None = None,
    test_evals: dict[str, pd.DataFrame | Sequence[dict[str, Any]]] | None = None,
    on_step: StepCallback | None = None,
) -> RunResult:
    """Fine-tune the base model on `examples` (none: the base model itself) and measure losses.

    Examples and evaluation items are pool-shaped records (instruction, input, output, system).
    """
    started = time.perf_counter()
    seed = config.seed if seed is None else seed
    warm = warm_model(config)
    train_records = sorted(_records(examples), key=lambda r: str(r.get("id", "")))
    evals = {"": _records(eval_examples)}
    evals.update({name: _records(items) for name, items in (test_evals or {}).items()})
    encoded_evals = {
        name: warm.encode_cached(items, config.max_length) for name, items in evals.items()
    }
    train_loss, tokens = math.nan, 0
    if train_records:
        encoded = encode_all(train_records, warm.tokenizer, config.max_length)
        train_loss, tokens = train(warm, encoded, config, seed, on_step)
        if on_step is not None:
            steps = optimizer_steps(len(encoded), config)
            on_step(steps, steps, f"loss {train_loss:.3f}, evaluating")
        items = evaluate_sets(warm, encoded_evals, config.eval_batch_size)
    else:
        if on_step is not None:
            on_step(0, 0, "evaluating the base model")
        items = _base_evaluation(warm, encoded_evals, config.eval_batch_size)
    losses = {n: sum(sums) / max(sum(counts), 1) for n, (sums, counts) in items.items()}
    eval_loss = losses.pop("")
    return RunResult(
        eval_loss=eval_loss,
        train_loss=train_loss,
        examples=len(train_records),
        tokens=tokens,
        seconds=time.perf_counter() - started,
        test_losses=losses,
        item_losses=items,
    )
