"""Reward mechanics on a tiny random GPT-NeoX classifier loaded by path through the real loader."""

from __future__ import annotations

import pytest
import torch

from instructmining.indicators import IndicatorOptions, compute_indicators
from instructmining.indicators.reward import format_pair
from instructmining.indicators.texts import user_text
from instructmining.models.loader import load_sequence_classifier


def test_oasst_format_is_the_reward_models_own():
    text = format_pair(None, "oasst", "What is 2+2?", "4")
    assert text == "<|prompter|>What is 2+2?<|endoftext|><|assistant|>4<|endoftext|>"


def test_reward_equals_a_direct_unpadded_forward(tiny_reward_model, sample_pool, tmp_path):
    pool = sample_pool.head(12)
    options = IndicatorOptions(reward_model=str(tiny_reward_model), bf16=False, batch_size=5)
    table = compute_indicators(pool, ["reward"], options, cache_dir=tmp_path, progress=False)
    rm = load_sequence_classifier(str(tiny_reward_model), "cpu")
    for row, got in zip(pool.itertuples(), table["reward"], strict=True):
        text = format_pair(rm.tokenizer, "oasst", user_text(row.instruction, row.input), row.output)
        ids = rm.tokenizer(text, return_tensors="pt")["input_ids"]
        assert ids[0, -1].item() == rm.tokenizer.eos_token_id  # the format's closing token
        with torch.no_grad():
            expected = rm.model(input_ids=ids).logits[0, 0].item()
        assert got == pytest.approx(expected, rel=1e-4, abs=1e-5)


def test_pad_equal_to_eos_still_scores_the_closing_token(tiny_reward_model, sample_pool, tmp_path):
    """With pad == EOS, transformers' own pooling would skip the final <|endoftext|>."""
    rm = load_sequence_classifier(str(tiny_reward_model), "cpu")
    rm.tokenizer.pad_token = rm.tokenizer.eos_token
    rm.model.config.pad_token_id = rm.tokenizer.eos_token_id
    folder = tmp_path / "rm-pad-eos"
    rm.model.save_pretrained(folder)
    rm.tokenizer.save_pretrained(folder)
    pool = sample_pool.head(6)
    options = IndicatorOptions(reward_model=str(folder), bf16=False, batch_size=3)
    table = compute_indicators(pool, ["reward"], options, cache_dir=tmp_path, progress=False)
    for row, got in zip(pool.itertuples(), table["reward"], strict=True):
        text = format_pair(rm.tokenizer, "oasst", user_text(row.instruction, row.input), row.output)
        ids = rm.tokenizer(text, return_tensors="pt")["input_ids"]
        with torch.no_grad():
            hidden = rm.model.base_model(input_ids=ids)[0]
            expected = rm.model.score(hidden[0, -1]).item()
            skipped_eos = rm.model(input_ids=ids).logits[0, 0].item()
        assert skipped_eos != pytest.approx(expected, rel=1e-3)
        assert got == pytest.approx(expected, rel=1e-4, abs=1e-5)


def test_bf16_scores_stay_close_to_fp32(tiny_reward_model, sample_pool, tmp_path):
    pool = sample_pool.head(8)
    name = str(tiny_reward_model)
    fp32 = compute_indicators(
        pool, ["reward"], IndicatorOptions(reward_model=name, bf16=False), tmp_path, False
    )
    bf16 = compute_indicators(
        pool, ["reward"], IndicatorOptions(reward_model=name), tmp_path, False
    )
    assert (fp32["reward"] - bf16["reward"]).abs().max() < 0.05
