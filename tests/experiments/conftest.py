"""A tiny random Llama with the real SmolLM2 tokenizer (and chat template), and a small workspace.

The tiny model makes fine-tuning mechanics fast to test; the records in data/ are real Dolly and
SELF-INSTRUCT examples (see data/SOURCES.md).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from experiments_data import DOLLY, SELF_INSTRUCT

from instructmining.data import read_examples
from instructmining.experiments import preset
from instructmining.storage import write_parquet


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
