"""The judge on the real SmolLM2: AlpaGasus's prompt, rating expected from digit probabilities."""

from __future__ import annotations

import pytest
import torch

from instructmining.indicators import IndicatorOptions, compute_indicators
from instructmining.indicators.judge import SYSTEM_PROMPT, judge_prompt
from instructmining.models.loader import load_causal_lm

pytestmark = pytest.mark.slow


def test_judge_is_the_expected_digit_under_next_token_probabilities(sample_pool, tmp_path):
    pool = sample_pool.iloc[[1, 25]]
    options = IndicatorOptions(bf16=False, batch_size=2)
    table = compute_indicators(pool, "judge", options, cache_dir=tmp_path, progress=False)
    lm = load_causal_lm("smollm2-135m-instruct", "cpu")
    digits = [lm.tokenizer.convert_tokens_to_ids(str(d)) for d in range(1, 6)]
    for row, got in zip(pool.itertuples(), table["judge"], strict=True):
        text = judge_prompt(lm.tokenizer, row.instruction, row.input, row.output)
        assert text.startswith(f"<|im_start|>system\n{SYSTEM_PROMPT}<|im_end|>")
        assert f"### Input:\n{row.input}\n\n### Response:\n{row.output}\n\n" in text
        assert "on a scale of 1 to 5" in text and text.endswith("<|im_start|>assistant\n")
        ids = lm.tokenizer(text, add_special_tokens=False, return_tensors="pt")["input_ids"]
        with torch.no_grad():
            logits = lm.model(input_ids=ids).logits[0, -1]
        probs = torch.softmax(logits[digits], dim=0)
        expected = float((probs * torch.arange(1, 6)).sum())
        assert got == pytest.approx(expected, rel=1e-4)
        assert 1.0 <= got <= 5.0
