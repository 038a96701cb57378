"""Fixtures shared by every stage's tests: the in-process CLI and a tiny random Llama."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import settings

from instructmining.cli import main

# No per-example deadline: timings on a shared 2-core machine say nothing about correctness.
settings.register_profile("instructmining", deadline=None, derandomize=True)
settings.load_profile("instructmining")


@pytest.fixture
def cli(capsys):
    """Run `instructmining ARGS...` in-process; returns (exit code, stdout, stderr)."""

    def run(*args: object) -> tuple[int, str, str]:
        code = main([str(a) for a in args])
        out = capsys.readouterr()
        return code, out.out, out.err

    return run


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer Llama with random weights, saved with SmolLM2's tokenizer (and chat template).

    Fine-tuning mechanics are fast to test on it; the real model is tested where values matter.
    """
    from tiny_models import save_tiny_llama

    from instructmining.models.loader import DEFAULT_LM, load_tokenizer

    return save_tiny_llama(tmp_path_factory.mktemp("tiny-llama"), load_tokenizer(DEFAULT_LM))
