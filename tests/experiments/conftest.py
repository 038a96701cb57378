"""A tiny random Llama with the real SmolLM2 tokenizer (and chat template), and a small workspace.

The tiny model makes fine-tuning mechanics fast to test; the records in data/ are real Dolly and
SELF-INSTRUCT examples (see data/SOURCES.md).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import torch
from experiments_data import DOLLY, SELF_INSTRUCT

from instructmining.data import read_examples
from instructmining.experiments import preset
from instructmining.models.loader import DEFAULT_LM, load_tokenizer
from instructmining.storage import write_parquet


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer Llama with random weights, saved with SmolLM2's tokenizer."""
    from transformers import LlamaConfig, LlamaForCausalLM

    path = tmp_path_factory.mktemp("tiny-llama")
    tokenizer = load_tokenizer(DEFAULT_LM)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=512,
        tie_word_embeddings=True,
        initializer_range=0.3,  # large enough embeddings that logits can move far from uniform
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(0)
    LlamaForCausalLM(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


@pytest.fixture
def tiny_config(tiny_model: Path):
    """cpu-small on the tiny model, short enough for many runs per test."""
    return preset(
        "cpu-small", base_model=str(tiny_model), max_length=96, batch_size=4, lr=5e-3, epochs=1
    )


@pytest.fixture(scope="session")
def pool() -> pd.DataFrame:
    return read_examples(DOLLY)


@pytest.fixture(scope="session")
def eval_items() -> pd.DataFrame:
    return read_examples(SELF_INSTRUCT)


@pytest.fixture
def workspace(tmp_path: Path, pool: pd.DataFrame) -> Path:
    """WS/ with the Dolly sample as pool and three subsets of 6 examples."""
    ws = tmp_path / "ws"
    write_parquet(pool, ws / "pool.parquet")
    subsets = pd.DataFrame(
        {
            "subset_id": [f"s{i}" for i in range(3) for _ in range(6)],
            "id": list(pool["id"].iloc[:18]),
        }
    )
    write_parquet(subsets, ws / "subsets.parquet")
    return ws
