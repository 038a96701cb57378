"""Settings shared by every indicator: which models, where they run, how big the batches are."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from instructmining.errors import UserError
from instructmining.models.loader import DEFAULT_EMBEDDER, DEFAULT_LM

DEFAULT_REWARD_MODEL = "OpenAssistant/oasst-rm-2.1-pythia-1.4b-epoch-2.5"
DEFAULT_UNIEVAL_MODEL = "MingZhong/unieval-dialog"
REWARD_FORMATS = ("oasst", "chat", "plain")


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
    max_length: int = 2048
    bf16: bool = True  # bf16 autocast where the hardware has it; False computes in fp32

    def __post_init__(self) -> None:
        if self.k < 1:
            raise UserError(f"--k must be at least 1 (got {self.k})")
        if self.batch_size is not None and self.batch_size < 1:
            raise UserError(f"--batch-size must be at least 1 (got {self.batch_size})")
        if self.max_length < 16:
            raise UserError(f"max_length must be at least 16 (got {self.max_length})")
        if self.reward_format not in REWARD_FORMATS:
            raise UserError(
                f"reward format must be one of {', '.join(REWARD_FORMATS)} "
                f"(got {self.reward_format!r})"
            )
