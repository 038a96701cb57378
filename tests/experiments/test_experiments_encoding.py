"""The loss covers the response only: labels are -100 exactly over the prompt, by construction."""

from __future__ import annotations

import numpy as np
import pytest

from instructmining.experiments.batching import collate, length_batches
from instructmining.experiments.encoding import IGNORE, encode_all, render
from instructmining.models.loader import DEFAULT_LM, load_tokenizer


@pytest.fixture(scope="module")
def tokenizer():
    return load_tokenizer(DEFAULT_LM)


def _example(instruction="Name three primes.", output="2, 3 and 5.", **extra):
    return {"instruction": instruction, "input": "", "output": output, "system": "", **extra}


def test_prompt_is_masked_and_response_is_scored(tokenizer):
    [enc] = encode_all([_example()], tokenizer, 256)
    prompt_text, response_text = render(_example(), tokenizer)
    assert tokenizer.decode(enc.ids[: enc.prompt_len]) == prompt_text
    assert tokenizer.decode(enc.ids[enc.prompt_len :]) == response_text
    assert enc.labels[: enc.prompt_len] == [IGNORE] * enc.prompt_len
    assert enc.labels[enc.prompt_len :] == list(enc.ids[enc.prompt_len :])
    assert enc.loss_tokens == len(enc.ids) - enc.prompt_len


def test_chat_template_wraps_prompt_and_ends_response_with_end_of_turn(tokenizer):
    prompt, response = render(_example(input="a context", system="Be brief."), tokenizer)
    assert prompt.startswith("<|im_start|>system\nBe brief.<|im_end|>")
    assert "Name three primes.\n\na context" in prompt
    assert prompt.endswith("<|im_start|>assistant\n")
    assert response.startswith("2, 3 and 5.") and "<|im_end|>" in response


def test_instruction_changes_do_not_change_the_scored_tokens(tokenizer):
    short, long = encode_all(
        [_example("Hi."), _example("Please list, carefully and in order, three primes.")],
        tokenizer,
        256,
    )
    assert long.prompt_len > short.prompt_len
    assert long.loss_tokens == short.loss_tokens
    assert long.ids[long.prompt_len :] == short.ids[short.prompt_len :]


def test_without_chat_template_an_alpaca_prompt_and_eos(tokenizer):
    plain = load_tokenizer(DEFAULT_LM)
    plain.chat_template = None
    prompt, response = render(_example(), plain)
    assert prompt == "### Instruction:\nName three primes.\n\n### Response:\n"
    assert response == "2, 3 and 5." + plain.eos_token


def test_long_examples_keep_the_assistant_turn_and_some_response(tokenizer):
    example = _example("word " * 400, "answer " * 400)
    [enc] = encode_all([example], tokenizer, 64)
    assert len(enc.ids) == 64
    assert enc.loss_tokens >= 64 // 4
    assert tokenizer.decode(enc.ids[: enc.prompt_len]).endswith("<|im_start|>assistant\n")


def _padding(lengths, batches):
    return sum(max(lengths[i] for i in b) * len(b) - sum(lengths[i] for i in b) for b in batches)


def test_length_batches_cover_everything_once_and_group_similar_lengths():
    lengths = list(np.random.default_rng(0).integers(5, 300, size=103))
    batches = length_batches(lengths, 8, np.random.default_rng([1, 0]))
    assert sorted(i for b in batches for i in b) == list(range(103))
    shuffled = np.random.default_rng(0).permutation(103)
    random_batches = [shuffled[i : i + 8] for i in range(0, 103, 8)]
    assert _padding(lengths, batches) < 0.15 * _padding(lengths, random_batches)
    again = length_batches(lengths, 8, np.random.default_rng([1, 0]))
    other = length_batches(lengths, 8, np.random.default_rng([2, 0]))
    assert batches == again and batches != other
    assert length_batches(lengths, 8) == length_batches(lengths, 8)


def test_collate_pads_on_the_right_without_loss(tokenizer):
    encoded = encode_all(
        [_example(), _example(output="A much longer answer here.")], tokenizer, 256
    )
    ids, labels = collate(encoded, pad_id=0)
    short = min(encoded, key=lambda e: len(e.ids))
    row = encoded.index(short)
    assert ids.shape == (2, max(len(e.ids) for e in encoded))
    assert (labels[row, len(short.ids) :] == IGNORE).all()
    assert labels[row, : len(short.ids)].tolist() == short.labels
