"""Real sample records and tiny random reward and UniEval models saved like Hub checkpoints."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from tiny_models import save_tiny_reward_model, save_tiny_unieval_model

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def sample_pool() -> pd.DataFrame:
    """33 real Alpaca and Dolly records in the pool's columns (see data/README.md)."""
    return pd.read_json(DATA / "sample_pool.jsonl", lines=True, dtype=False)


def _texts(pool: pd.DataFrame) -> list[str]:
    return [*pool.instruction, *pool.input, *pool.output, "Yes No"]


@pytest.fixture(scope="session")
def tiny_reward_model(tmp_path_factory, sample_pool) -> Path:
    """A random GPT-NeoX sequence classifier with OpenAssistant's special tokens."""
    return save_tiny_reward_model(tmp_path_factory.mktemp("tiny-oasst-rm"), _texts(sample_pool))


@pytest.fixture(scope="session")
def tiny_unieval_model(tmp_path_factory, sample_pool) -> Path:
    """A random T5 with a tokenizer that knows `</s>` and appends it, as T5's does."""
    return save_tiny_unieval_model(tmp_path_factory.mktemp("tiny-unieval"), _texts(sample_pool))
