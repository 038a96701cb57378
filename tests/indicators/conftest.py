"""Real sample records, tiny random models saved like Hub checkpoints, and a CLI runner."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import torch

from instructmining.cli import main

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def sample_pool() -> pd.DataFrame:
    """33 real Alpaca and Dolly records in the pool's columns (see data/README.md)."""
    return pd.read_json(DATA / "sample_pool.jsonl", lines=True, dtype=False)


def train_tokenizer(texts: list[str], specials: list[str], append: str | None = None, **named):
    """A small BPE tokenizer trained on `texts`, wrapped as a transformers fast tokenizer."""
    from tokenizers import Tokenizer, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.train_from_iterator(texts, trainers.BpeTrainer(vocab_size=600, special_tokens=specials))
    if append is not None:
        template = processors.TemplateProcessing(
            single=f"$A {append}", special_tokens=[(append, tok.token_to_id(append))]
        )
        tok.post_processor = template
    return PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>", **named)


def _texts(pool: pd.DataFrame) -> list[str]:
    return [*pool.instruction, *pool.input, *pool.output, "Yes No"]


@pytest.fixture(scope="session")
def tiny_reward_model(tmp_path_factory, sample_pool) -> Path:
    """A random GPT-NeoX sequence classifier with OpenAssistant's special tokens."""
    from transformers import GPTNeoXConfig, GPTNeoXForSequenceClassification

    folder = tmp_path_factory.mktemp("tiny-oasst-rm")
    specials = ["<|padding|>", "<|endoftext|>", "<|prompter|>", "<|assistant|>", "<unk>"]
    tok = train_tokenizer(
        _texts(sample_pool),
        specials,
        eos_token="<|endoftext|>",
        pad_token="<|padding|>",
        additional_special_tokens=["<|prompter|>", "<|assistant|>"],
    )
    torch.manual_seed(0)
    config = GPTNeoXConfig(
        vocab_size=len(tok),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=64,
        num_labels=1,
        pad_token_id=tok.pad_token_id,
        eos_token_id=tok.eos_token_id,
    )
    GPTNeoXForSequenceClassification(config).save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_unieval_model(tmp_path_factory, sample_pool) -> Path:
    """A random T5 with a tokenizer that knows `</s>` and appends it, as T5's does."""
    from transformers import T5Config, T5ForConditionalGeneration

    folder = tmp_path_factory.mktemp("tiny-unieval")
    tok = train_tokenizer(
        _texts(sample_pool),
        ["<pad>", "</s>", "<unk>"],
        append="</s>",
        eos_token="</s>",
        pad_token="<pad>",
    )
    torch.manual_seed(0)
    config = T5Config(
        vocab_size=len(tok),
        d_model=32,
        d_kv=8,
        d_ff=64,
        num_layers=2,
        num_heads=4,
        decoder_start_token_id=tok.pad_token_id,
        pad_token_id=tok.pad_token_id,
        eos_token_id=tok.eos_token_id,
    )
    T5ForConditionalGeneration(config).save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


@pytest.fixture
def cli(capsys):
    """Run `instructmining ARGS...` in-process; returns (exit code, stdout, stderr)."""

    def run(*args: object) -> tuple[int, str, str]:
        code = main([str(a) for a in args])
        out = capsys.readouterr()
        return code, out.out, out.err

    return run
