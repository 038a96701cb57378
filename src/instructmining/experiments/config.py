"""Fine-tuning settings: one validated model, two presets, and the hash that keys finished runs.

`cpu-small` is sized from our CPU measurements (docs/findings.md): with 1 epoch at
lr 3e-4 the pilot's subsets did not differ by more than seed noise; 1 epoch at lr 1e-3 spread
five 200-example subsets of the demo pool with sd 0.029 against a seed noise of 0.003
(docs/presets.md), at half the cost of the pilot's 2 epochs. `paper` follows the
InstructMining/Alpaca recipe for GPU machines.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from instructmining.errors import UserError
from instructmining.hashing import hash_object
from instructmining.models.loader import DEFAULT_LM, model_identity
from instructmining.storage import write_json
from instructmining.workspace import Workspace

LORA_TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]

# Fields that say where or how a run happens, not what it computes: left out of the config hash.
_NOT_HASHED = {"seed", "device", "gradient_checkpointing"}


class ExperimentConfig(BaseModel):
    """Everything that decides a fine-tune's outcome, plus the default seed and the device."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    base_model: str = DEFAULT_LM
    lora: bool = True
    lora_r: int = Field(16, ge=1)
    lora_alpha: float = Field(32, gt=0)
    lora_dropout: float = Field(0.0, ge=0, lt=1)
    lora_targets: tuple[str, ...] = tuple(LORA_TARGETS)
    epochs: int = Field(1, ge=1)
    lr: float = Field(1e-3, gt=0)
    schedule: Literal["cosine", "linear", "constant"] = "cosine"
    warmup: float = Field(0.03, ge=0, lt=1, description="fraction of optimizer steps")
    weight_decay: float = Field(0.0, ge=0)
    max_grad_norm: float = Field(1.0, gt=0)
    batch_size: int = Field(8, ge=1, description="examples per forward pass")
    grad_accum: int = Field(1, ge=1, description="forward passes per optimizer step")
    max_length: int = Field(256, ge=16, description="tokens per example, prompt and response")
    bf16: bool = True
    gradient_checkpointing: bool = Field(False, description="recompute activations: less memory")
    eval_batch_size: int = Field(16, ge=1)
    seed: int = Field(0, description="training seed when a caller gives none")
    device: str = "auto"

    @property
    def effective_batch(self) -> int:
        return self.batch_size * self.grad_accum


# The paper's schedule (LLaMA-2-7B, Alpaca-style recipe): 3 epochs, cosine, 3% warm-up,
# effective batch 128, 2,048 tokens.
_PAPER_SCHEDULE: dict[str, Any] = {
    "base_model": "meta-llama/Llama-2-7b-hf",
    "epochs": 3,
    "schedule": "cosine",
    "warmup": 0.03,
    "batch_size": 4,
    "grad_accum": 32,
    "max_length": 2048,
    "gradient_checkpointing": True,
    "eval_batch_size": 8,
}

PRESETS: dict[str, dict[str, Any]] = {
    # A 200-example Dolly subset trains and is evaluated on 100 items in under 2 minutes on 2
    # cores (benchmarks/cpu_small.py); longer examples cost more, up to 256 tokens each.
    "cpu-small": {},
    # Full fine-tuning as in the paper. About 143 GB on one GPU (computed:
    # experiments/memory.py): more than one 80 GB GPU holds.
    "paper": {**_PAPER_SCHEDULE, "lora": False, "lr": 2e-5},
    # The paper's schedule with LoRA r 16 on every linear layer at LoRA's usual lr 2e-4: about
    # 25 GB for a 7B model (computed: experiments/memory.py), so it fits one 80 GB GPU.
    "paper-lora": {**_PAPER_SCHEDULE, "lora": True, "lora_r": 16, "lora_alpha": 32, "lr": 2e-4},
}


def preset(name: str = "cpu-small", **overrides: Any) -> ExperimentConfig:
    """A preset with some values replaced; unknown names and invalid values are a `UserError`."""
    if name not in PRESETS:
        raise UserError(f"unknown preset {name!r} (choose from {', '.join(PRESETS)})")
    values = {**PRESETS[name], **{k: v for k, v in overrides.items() if v is not None}}
    try:
        return ExperimentConfig(**values)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise UserError(f"experiment setting {field}: {first['msg']}") from exc


def optimizer_steps(examples: int, config: ExperimentConfig) -> int:
    per_epoch = math.ceil(math.ceil(examples / config.batch_size) / config.grad_accum)
    return per_epoch * config.epochs


def check_schedule(examples: int, config: ExperimentConfig) -> None:
    """Refuse a schedule under which nothing is learned: its only optimizer step falls in the
    warm-up, where the learning rate starts at 0 (every scheduler here starts warm-up at 0)."""
    total = optimizer_steps(examples, config)
    if total == 1 and math.ceil(config.warmup * total) >= 1:
        raise UserError(
            f"{examples} examples at batch_size {config.batch_size} x grad_accum "
            f"{config.grad_accum} make one optimizer step, and warm-up {config.warmup:g} rounds "
            "up to it, so its learning rate is 0 and nothing would be learned; set warmup 0 or "
            "a smaller batch_size"
        )


def check_overrides(name: str, overrides: dict[str, Any]) -> None:
    """Raise ValueError naming the first override that is unknown or invalid for preset `name`."""
    try:
        preset(name, **overrides)
    except UserError as exc:
        message = str(exc).removeprefix("experiment setting ")
        raise ValueError(f"overrides.{message}") from exc


def config_hash(config: ExperimentConfig) -> str:
    """Hash of the settings that change results, with the base model's exact weights."""
    settings = config.model_dump(exclude=_NOT_HASHED)
    settings["base_model"] = model_identity(config.base_model)
    return hash_object(settings)


def save_settings(
    workspace: Workspace | Path,
    eval_file: Path,
    config: ExperimentConfig,
    seeds: list[int],
    test_evals: dict[str, Path] | None = None,
) -> Path:
    """Record the evaluation set and config in WS/experiment.json, so that `search` and `compare`
    train and evaluate the same way without repeating every option.

    Files inside the workspace are stored relative to it, so a moved workspace still finds them."""
    from instructmining.data.pool import pool_hash

    ws = Workspace.of(workspace)
    path = ws.experiment
    write_json(
        {
            "eval_file": ws.relative(eval_file),
            "test_eval_files": {k: ws.relative(v) for k, v in (test_evals or {}).items()},
            "config": config.model_dump(mode="json"),
            "config_hash": config_hash(config),
            "seeds": list(seeds),
            # The pool the runs' subsets came from, so `refine` can refuse a changed pool.
            "pool_hash": pool_hash(ws.pool) if ws.pool.exists() else None,
        },
        path,
    )
    return path
