"""A conversation kept whole (`pool build --all-turns`): ppl scores its last assistant turn given
every earlier turn through the chat template, the reward model reads every turn, and knn says
it scores the whole conversation."""

from __future__ import annotations

import json
import math

import pandas as pd
import torch

from instructmining.data import build_pool
from instructmining.indicators import IndicatorOptions
from instructmining.indicators.registry import indicator_class
from instructmining.indicators.reward import format_pair
from instructmining.indicators.run import run_indicators
from instructmining.models.loader import load_causal_lm

TURNS = [
    {"role": "system", "content": "Answer in one word."},
    {"role": "user", "content": "Name a colour."},
    {"role": "assistant", "content": "Red."},
    {"role": "user", "content": "And the colour of the sky?"},
    {"role": "assistant", "content": "Blue."},
]


def _conversation_pool(tmp_path) -> pd.DataFrame:
    path = tmp_path / "chat.jsonl"
    path.write_text(json.dumps({"messages": TURNS}) + "\n")
    return build_pool(path, all_turns=True).pool


def _direct_ppl(lm, history: list[dict], response: str) -> float:
    """exp(mean NLL) of the response tokens after the templated history, computed directly."""
    tok = lm.tokenizer
    prompt = tok.apply_chat_template(history, tokenize=False, add_generation_prompt=True)
    full = tok.apply_chat_template(
        [*history, {"role": "assistant", "content": response}], tokenize=False
    )
    prompt_ids = tok(prompt, add_special_tokens=False)["input_ids"]
    response_ids = tok(full[len(prompt) :], add_special_tokens=False)["input_ids"]
    ids = torch.tensor([prompt_ids + response_ids])
    labels = torch.tensor([[-100] * len(prompt_ids) + response_ids])
    with torch.no_grad():
        return math.exp(lm.model(input_ids=ids, labels=labels).loss.item())


def test_ppl_scores_the_last_turn_given_the_whole_history(tmp_path, tiny_model):
    pool = _conversation_pool(tmp_path)
    assert json.loads(pool["messages"].iloc[0]) == TURNS
    options = IndicatorOptions(lm=str(tiny_model), device="cpu", bf16=False)
    got = run_indicators(pool, ["ppl"], options, tmp_path / "cache", False).table["ppl"].iloc[0]
    lm = load_causal_lm(str(tiny_model), "cpu")
    assert math.isclose(got, _direct_ppl(lm, TURNS[:-1], "Blue."), rel_tol=1e-4)
    # The same last exchange without its history scores differently: the history is read.
    alone = _direct_ppl(lm, [TURNS[0], TURNS[3]], "Blue.")
    assert not math.isclose(got, alone, rel_tol=1e-4)


def test_the_reward_model_reads_every_turn():
    oasst = format_pair(None, "oasst", "q", "a", TURNS)
    assert oasst == (
        "<|prompter|>Name a colour.<|endoftext|><|assistant|>Red.<|endoftext|>"
        "<|prompter|>And the colour of the sky?<|endoftext|><|assistant|>Blue.<|endoftext|>"
    )
    single = format_pair(None, "oasst", "Name a colour.", "Red.")
    assert single == "<|prompter|>Name a colour.<|endoftext|><|assistant|>Red.<|endoftext|>"


def test_each_indicator_says_what_it_scores():
    scopes = {name: indicator_class(name).scope for name in ("ppl", "ifd", "reward", "knn")}
    assert scopes == {
        "ppl": "last response",
        "ifd": "last response",
        "reward": "last response",
        "knn": "whole conversation",
    }
