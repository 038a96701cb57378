"""Batched forward passes of a causal LM that return only what indicators need.

The LM head runs only at the positions that are scored (response tokens, or the last token),
never over the whole padded batch: with a 49k-token vocabulary the full logits would dominate
memory and a good share of the compute. Batches are right-padded, so positions need no fix-up.
Prompts rendered by one chat template start with the same tokens (system prompt, user header);
that shared start is run once and its key/value cache reused by every row of every batch.
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F

MIN_SHARED = 8  # shorter common starts are not worth a cached forward
MEMO_SIZE = 8  # cached starts kept (a run needs about two: with and without instruction)
TINY_PROB = 1e-30  # bf16 probabilities below this lose precision; such tokens are rescored


def pad_right(seqs: list[list[int]], pad_id: int, device: torch.device) -> tuple[Any, Any]:
    """Token ids and attention mask of right-padded sequences."""
    width = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(seqs), width), dtype=torch.long)
    for i, seq in enumerate(seqs):
        ids[i, : len(seq)] = torch.tensor(seq, dtype=torch.long)
        mask[i, : len(seq)] = 1
    return ids.to(device), mask.to(device)


def final_hidden(model: Any, ids: Any, mask: Any) -> Any:
    """Last hidden states (after the final norm) of the model's decoder stack."""
    return model.base_model(input_ids=ids, attention_mask=mask, use_cache=False)[0]


def head_logits(model: Any, hidden: Any) -> Any:
    """Logits from hidden states, as the model's own forward computes them (with soft-capping)."""
    logits = model.get_output_embeddings()(hidden)
    cap = getattr(model.config, "final_logit_softcapping", None)
    if cap:
        logits = torch.tanh(logits / cap) * cap
    return logits


def token_nll(logits: Any, targets: Any) -> Any:
    """fp32 negative log-probability of each row's target under its logits.

    bf16 logits are turned into probabilities by one fused bf16 softmax, which accumulates in
    fp32 and rounds only its output: -log of a bf16 probability is within 0.004 of the fp32
    value (the logits' own bf16 rounding is worth up to 0.06), at a fifth of the cost of
    copying a 49k-wide row to fp32 for a logsumexp. Vanishing probabilities, whose bf16 value
    has lost digits, are rescored in fp32. Other dtypes take the fp32 path throughout.
    """
    if logits.dtype != torch.bfloat16:
        return F.cross_entropy(logits.float(), targets, reduction="none")
    with torch.autocast(logits.device.type, enabled=False):  # CUDA autocast softmaxes in fp32
        probs = torch.softmax(logits, dim=-1).gather(1, targets[:, None])[:, 0].float()
    nll = -torch.log(probs)
    tiny = probs < TINY_PROB
    if tiny.any():
        nll[tiny] = F.cross_entropy(logits[tiny].float(), targets[tiny], reduction="none")
    return nll


def common_start(seqs: list[list[int]]) -> int:
    """How many leading tokens every sequence shares."""
    first, n = seqs[0], min(len(s) for s in seqs)
    for i in range(n):
        if any(s[i] != first[i] for s in seqs):
            return i
    return n


def cache_keyword(model: Any) -> str:
    """The decoder's keyword for a key/value cache (`cache` in transformers 5, before that not)."""
    parameters = inspect.signature(model.base_model.forward).parameters
    return "cache" if "cache" in parameters else "past_key_values"


def _shared_cache(model: Any, start: list[int], rows: int, memo: dict, device: torch.device) -> Any:
    """Key/value cache of `start`, computed once while it stays among the recent few."""
    key = (tuple(start), torch.is_autocast_enabled(device.type))
    if key in memo:
        memo[key] = memo.pop(key)  # most recently used last
    else:
        if len(memo) >= MEMO_SIZE:
            del memo[next(iter(memo))]
        ids = torch.tensor([start], device=device)
        memo[key] = model.base_model(input_ids=ids, use_cache=True)[1]
    cache = copy.deepcopy(memo[key])
    cache.batch_repeat_interleave(rows)
    return cache


def batch_hidden(
    model: Any,
    seqs: list[list[int]],
    limit: int,
    pad_id: int,
    device: torch.device,
    memo: dict | None,
) -> tuple[Any, Any, int]:
    """(hidden states, attention mask, shared) of right-padded `seqs` after their common start.

    The first `shared` tokens, common to every row and at most `limit`, come from a cached
    forward when a `memo` is given; the returned states and mask cover the rest of each row.
    """
    shared = min(common_start(seqs), limit)
    kwargs: dict[str, Any] = {"use_cache": False}
    if memo is None or shared < MIN_SHARED:
        shared = 0
    else:
        cache = _shared_cache(model, seqs[0][:shared], len(seqs), memo, device)
        kwargs = {"use_cache": True, cache_keyword(model): cache}
    ids, mask = pad_right([s[shared:] for s in seqs], pad_id, device)
    full_mask = mask
    if shared:
        ones = torch.ones((len(seqs), shared), dtype=mask.dtype, device=device)
        full_mask = torch.cat([ones, mask], dim=1)
    hidden = model.base_model(input_ids=ids, attention_mask=full_mask, **kwargs)[0]
    return hidden, mask, shared


def response_nll(
    model: Any,
    pairs: list[tuple[list[int], list[int]]],
    pad_id: int,
    device: torch.device,
    memo: dict | None = None,
    chunk: int = 2048,
    nll: Callable[[Any, Any], Any] = token_nll,
) -> list[float]:
    """Summed negative log-likelihood of each response given its prefix (prefix not scored).

    Each pair is (prefix ids, response ids) with a non-empty prefix, so every response token is
    predicted from the position before it; a shared start leaves each row one prefix token.
    `nll` scores logits against targets (the fine-tunes' evaluation keeps its fp32 loss).
    """
    limit = min(len(p) for p, _ in pairs) - 1
    hidden, _, shared = batch_hidden(model, [p + r for p, r in pairs], limit, pad_id, device, memo)
    rows, positions, targets = [], [], []
    for i, (prefix, response) in enumerate(pairs):
        start = len(prefix) - shared
        rows += [i] * len(response)
        positions += range(start - 1, start + len(response) - 1)
        targets += response
    rows_t = torch.tensor(rows, device=device)
    scored = hidden[rows_t, torch.tensor(positions, device=device)]
    targets_t = torch.tensor(targets, device=device)
    losses = torch.empty(len(targets), dtype=torch.float32, device=device)
    for s in range(0, len(targets), chunk):
        losses[s : s + chunk] = nll(
            head_logits(model, scored[s : s + chunk]), targets_t[s : s + chunk]
        )
    sums = torch.zeros(len(pairs), dtype=torch.float32, device=device)
    sums.index_add_(0, rows_t, losses)
    return sums.tolist()


def last_logits(
    model: Any, seqs: list[list[int]], pad_id: int, device: torch.device, memo: dict | None = None
) -> Any:
    """Next-token logits (fp32) after the last token of each sequence."""
    limit = min(len(s) for s in seqs) - 1
    hidden, mask, _ = batch_hidden(model, seqs, limit, pad_id, device, memo)
    last = mask.sum(dim=1) - 1
    picked = hidden[torch.arange(len(seqs), device=device), last]
    return head_logits(model, picked).float()
