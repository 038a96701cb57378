"""The GPU memory docs/presets.md states for the `paper` and `paper-lora` presets."""

from __future__ import annotations

import pytest

from instructmining.experiments.config import preset
from instructmining.experiments.memory import LLAMA2_7B, lora_params, memory_gb


def _memory(name: str) -> dict:
    config = preset(name)
    return memory_gb(
        LLAMA2_7B, config.lora, config.batch_size, config.max_length, lora_r=config.lora_r
    )


def test_lora_parameters_of_llama2_7b():
    # 32 layers x 16 x (4 x 8192 attention + 3 x 15104 MLP) in + out widths
    assert lora_params(LLAMA2_7B, 16) == 32 * 16 * (4 * 8192 + 3 * 15104) == 39_976_960


def test_paper_needs_more_than_one_80gb_gpu_and_paper_lora_fits():
    paper, lora = _memory("paper"), _memory("paper-lora")
    assert paper["total"] == pytest.approx(143, abs=1) and paper["total"] > 80
    assert lora["total"] == pytest.approx(25, abs=1) and lora["total"] < 80
    assert paper["trained"] == pytest.approx(6.74e9 * 12 / 1e9)


def test_paper_lora_keeps_the_papers_schedule():
    paper, lora = preset("paper"), preset("paper-lora")
    for field in ("epochs", "schedule", "warmup", "max_length", "base_model"):
        assert getattr(paper, field) == getattr(lora, field)
    assert paper.effective_batch == lora.effective_batch == 128
    assert lora.lora and not paper.lora
