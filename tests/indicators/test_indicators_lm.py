"""Token scoring by the LM head: the fast bf16 path against fp64 on the same logits."""

from __future__ import annotations

import torch

from instructmining.indicators.lm import token_nll


def _reference(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    wide = logits.double()
    return torch.logsumexp(wide, dim=-1) - wide.gather(1, targets[:, None])[:, 0]


def _logits_and_targets(rows: int = 64, vocab: int = 4096) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    logits = 4 * torch.randn(rows, vocab, generator=generator)
    targets = torch.randint(0, vocab, (rows,), generator=generator)
    targets[: rows // 2] = logits[: rows // 2].argmax(dim=-1)  # confident and unlikely tokens
    return logits, targets


def test_fp32_logits_score_exactly():
    logits, targets = _logits_and_targets()
    got = token_nll(logits, targets)
    assert got.dtype == torch.float32
    torch.testing.assert_close(got.double(), _reference(logits, targets), atol=1e-5, rtol=0)


def test_bf16_logits_score_within_bf16_rounding_of_the_probability():
    logits, targets = _logits_and_targets()
    low = logits.bfloat16()
    got = token_nll(low, targets)
    assert got.dtype == torch.float32
    error = (got.double() - _reference(low, targets)).abs()
    assert error.max() < 0.005  # -log of a probability with bf16's 8-bit mantissa
    assert error.max() > 0  # the bf16 softmax path did run (an fp32 path would be exact)


def test_bf16_vanishing_probabilities_are_rescored_in_fp32():
    logits, targets = _logits_and_targets(rows=4)
    logits[:, targets] = -200.0  # probability about e^-200: zero in bf16
    low = logits.bfloat16()
    got = token_nll(low, targets)
    assert torch.isfinite(got).all()
    torch.testing.assert_close(got.double(), _reference(low, targets), atol=1e-3, rtol=1e-5)
