"""Settings shared by every indicator: which models, where they run, how big the batches are."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from instructmining.errors import UserError, param
from instructmining.models.loader import DEFAULT_EMBEDDER, DEFAULT_LM

DEFAULT_REWARD_MODEL = "OpenAssistant/oasst-rm-2.1-pythia-1.4b-epoch-2.5"
DEFAULT_UNIEVAL_MODEL = "MingZhong/unieval-dialog"
REWARD_FORMATS = ("oasst", "chat", "plain")
# Token limit per model input when none is given. On a CPU, cost grows with every token kept;
# 1,024 tokens (SmolLM2's tokenizer, prompt + response) cut 0.0% of alpaca_5000, 1.8% of
# Dolly 3k, 0.5% of OASST1 validation and 18% of LIMA (2,048: 0.0%, 0.1%, 0.0%, 5.4%);
# measured by benchmarks/max_length_truncation.py.
MAX_LENGTH_BY_DEVICE = {"cuda": 2048, "cpu": 1024}


@dataclass(frozen=True)
class IndicatorOptions:
    """Models and run settings; only the fields an indicator reads enter its cache key."""

    lm: str = DEFAULT_LM
    length_tokenizer: str | None = None  # None: the LM's tokenizer
    reward_model: str = DEFAULT_REWARD_MODEL
    reward_format: str = "oasst"
    unieval_model: str = DEFAULT_UNIEVAL_MODEL
    embedder: str = DEFAULT_EMBEDDER
    judge_model: str = DEFAULT_LM
    k: int = 6
    knn_reference: Path | None = None  # None: the pool itself
    knn_exact_max: int = 50_000  # reference sets above this size use an approximate index
    device: str = "auto"
    batch_size: int | None = None  # None: each indicator's own default
    max_length: int | None = None  # None: MAX_LENGTH_BY_DEVICE for the device
    bf16: bool = True  # bf16 autocast where the hardware has it; False computes in fp32

    def __post_init__(self) -> None:
        if self.max_length is None:
            object.__setattr__(self, "max_length", default_max_length(self.device))
        if self.k < 1:
            raise UserError(f"{param('k')} must be at least 1 (got {self.k})")
        if self.batch_size is not None and self.batch_size < 1:
            raise UserError(f"{param('batch_size')} must be at least 1 (got {self.batch_size})")
        if self.max_length < 16:
            raise UserError(f"{param('max_length')} must be at least 16 (got {self.max_length})")
        if self.reward_format not in REWARD_FORMATS:
            raise UserError(
                f"reward format must be one of {', '.join(REWARD_FORMATS)} "
                f"(got {self.reward_format!r})"
            )


def default_max_length(device: str = "auto") -> int:
    """The token limit for `device` when none is given (see MAX_LENGTH_BY_DEVICE)."""
    import torch

    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    return MAX_LENGTH_BY_DEVICE.get(device.split(":")[0], MAX_LENGTH_BY_DEVICE["cpu"])


def truncation_note(name: str, cut: int, total: int, max_length: int) -> str | None:
    """`NAME: X% of examples (C of T) were cut to --max-length L`, when any were."""
    if not cut or not total:
        return None
    return (
        f"{name}: {cut / total:.1%} of examples ({cut} of {total}) were longer than "
        f"--max-length {max_length} tokens and were cut; raise it to score them whole"
    )
