"""ppl, IFD and lengths on the real bundled SmolLM2-135M-Instruct, against direct computations."""

from __future__ import annotations

import math

import pytest
import torch

from instructmining.indicators import IndicatorOptions, compute_indicators
from instructmining.models.loader import load_causal_lm

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def smollm():
    return load_causal_lm("smollm2-135m-instruct", "cpu")


@pytest.fixture(scope="module")
def pool(sample_pool):
    """Alpaca records, Dolly records with an input, and the record with a system message."""
    return sample_pool.iloc[[1, 3, 24, 26, 32]].reset_index(drop=True)


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    """One cache for the module: fp32 values computed by one test are reused by the next."""
    return tmp_path_factory.mktemp("indicator-cache")


def _messages(row, user: str) -> list[dict[str, str]]:
    system = [{"role": "system", "content": row.system}] if row.system else []
    return [*system, {"role": "user", "content": user}]


def _direct_ppl(lm, row, user: str) -> float:
    """exp(loss) of model(input_ids, labels) with every prompt token masked to -100."""
    tok = lm.tokenizer
    prompt = tok.apply_chat_template(
        _messages(row, user), tokenize=False, add_generation_prompt=True
    )
    instruction_prompt = _messages(row, row.instruction + (f"\n\n{row.input}" if row.input else ""))
    full = tok.apply_chat_template(
        [*instruction_prompt, {"role": "assistant", "content": row.output}], tokenize=False
    )
    reference_prompt = tok.apply_chat_template(
        instruction_prompt, tokenize=False, add_generation_prompt=True
    )
    response = full[len(reference_prompt) :]
    prompt_ids = tok(prompt, add_special_tokens=False)["input_ids"]
    response_ids = tok(response, add_special_tokens=False)["input_ids"]
    ids = torch.tensor([prompt_ids + response_ids])
    labels = torch.tensor([[-100] * len(prompt_ids) + response_ids])
    with torch.no_grad():
        loss = lm.model(input_ids=ids, labels=labels).loss
    return math.exp(loss.item())


def test_ppl_and_ifd_match_direct_fp32_computation(smollm, pool, cache):
    options = IndicatorOptions(bf16=False, batch_size=3)
    table = compute_indicators(pool, ["ppl", "ifd"], options, cache_dir=cache, progress=False)
    for row, ppl, ifd in zip(pool.itertuples(), table["ppl"], table["ifd"], strict=True):
        user = row.instruction + (f"\n\n{row.input}" if row.input else "")
        expected = _direct_ppl(smollm, row, user)
        assert ppl == pytest.approx(expected, rel=1e-4)
        alone = _direct_ppl(smollm, row, "")  # same response tokens, empty user turn
        assert ifd == pytest.approx(expected / alone, rel=1e-4)


def test_bf16_ppl_is_close_to_fp32(pool, cache):
    names = ["ppl", "ifd"]
    fp32 = compute_indicators(pool, names, IndicatorOptions(bf16=False), cache, False)
    bf16 = compute_indicators(pool, names, IndicatorOptions(bf16=True), cache, False)
    relative = ((bf16[names] - fp32[names]) / fp32[names]).abs()
    assert relative.max().max() < 0.05


def test_lengths_count_tokens_of_instruction_plus_input_and_of_output(smollm, pool, tmp_path):
    table = compute_indicators(
        pool, "length", IndicatorOptions(), cache_dir=tmp_path, progress=False
    )
    tok = smollm.tokenizer
    for row, got_in, got_out in zip(
        pool.itertuples(), table["input_len"], table["output_len"], strict=True
    ):
        user = row.instruction + (f"\n\n{row.input}" if row.input else "")
        assert got_in == len(tok(user, add_special_tokens=False)["input_ids"])
        assert got_out == len(tok(row.output, add_special_tokens=False)["input_ids"])
    assert str(table["input_len"].dtype) == "Int64"


def test_shared_prompt_start_is_served_from_one_cached_forward(smollm, pool):
    from instructmining.indicators.lm import response_nll
    from instructmining.indicators.perplexity import encode

    tok = smollm.tokenizer
    encoded = [
        encode(tok, "", row.instruction, row.output, 512) for row in pool.head(4).itertuples()
    ]
    memo: dict = {}
    with torch.inference_mode():
        for prefixes in ([e.prefix for e in encoded], [e.alone for e in encoded]):
            pairs = [(p, e.response) for p, e in zip(prefixes, encoded, strict=True)]
            plain = response_nll(smollm.model, pairs, tok.pad_token_id, smollm.device)
            cached = response_nll(smollm.model, pairs, tok.pad_token_id, smollm.device, memo)
            assert cached == pytest.approx(plain, rel=1e-5)
    starts = [len(key[0]) for key in memo]
    assert len(memo) == 2 and min(starts) >= 8  # the template header; the whole empty-user prompt
    assert max(starts) == len(encoded[0].alone) - 1
