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

from instructmining.experiments.batching import collate, length_batches
from instructmining.experiments.config import ExperimentConfig, optimizer_steps
from instructmining.experiments.encoding import Encoded, encode_all
from instructmining.experiments.model import WarmModel, warm_model

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


@torch.no_grad()
def evaluate_items(
    warm: WarmModel, encoded: list[Encoded], batch_size: int
) -> tuple[list[float], list[int]]:
    """Summed response-token loss and token count of each item, in the items' order."""
    warm.model.eval()
    sums, counts = [0.0] * len(encoded), [0] * len(encoded)
    for batch in length_batches([len(e.ids) for e in encoded], batch_size):
        ids, labels = collate([encoded[i] for i in batch], warm.pad_id)
        with warm.autocast():
            loss, n = warm.row_losses(ids, labels)
        for i, item_loss, item_tokens in zip(batch, loss, n, strict=True):
            sums[i], counts[i] = float(item_loss), int(item_tokens)
    return sums, counts


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
        items = {
            n: evaluate_items(warm, e, config.eval_batch_size) for n, e in encoded_evals.items()
        }
    else:
        if on_step is not None:
            on_step(0, 0, "evaluating the base model")
        with warm.base_weights():
            items = {
                n: evaluate_items(warm, e, config.eval_batch_size) for n, e in encoded_evals.items()
            }
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
