"""The base model, loaded once per process and put back to its starting point before each run.

Reloading a model per run costs seconds to minutes; instead LoRA adapters are re-initialised
from the run's seed (full fine-tuning restores a saved copy of the weights). With bf16 autocast,
frozen linear weights are stored in bf16 once: autocast would cast them on every forward pass,
and the values are identical.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from instructmining.errors import UserError
from instructmining.experiments.config import ExperimentConfig
from instructmining.experiments.encoding import IGNORE, Encoded, encode_all
from instructmining.hashing import hash_object
from instructmining.indicators.lm import MIN_SHARED, cache_keyword
from instructmining.models.loader import cpu_has_bf16, load_causal_lm

# Architectures whose logits are exactly `lm_head(last_hidden_state)`: for them logits are
# computed only at response positions (prompt positions carry no loss).
_PLAIN_HEAD_TYPES = {"llama", "mistral", "qwen2", "qwen3", "olmo", "olmo2", "phi3", "smollm3"}

# Settings that decide the loaded model; other settings only change the training run.
_MODEL_FIELDS = ("base_model", "lora", "lora_r", "lora_alpha", "lora_dropout", "lora_targets")
_MODEL_FIELDS += ("bf16", "gradient_checkpointing", "device")


class WarmModel:
    """A base model kept in memory between runs; `reset(seed)` starts a run from the base."""

    def __init__(self, config: ExperimentConfig) -> None:
        loaded = load_causal_lm(config.base_model, config.device)
        self.tokenizer = loaded.tokenizer
        self.device = loaded.device
        self.pad_id = self.tokenizer.pad_token_id
        self.bf16 = config.bf16 and (self.device.type == "cuda" or cpu_has_bf16())
        self.lora = config.lora
        model = loaded.model
        self._initial: dict[str, torch.Tensor] | None = None
        if config.lora:
            model = _add_lora(model, config)
            if self.bf16:
                _store_frozen_linears_in_bf16(model)
        else:
            self._initial = {
                k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()
            }
        if config.gradient_checkpointing:
            _enable_checkpointing(model)
        self.model = model
        self._head = _plain_head(model)
        # A start run once for all rows would share one dropout mask, and checkpointing turns
        # the key/value cache off: both keep the full forward.
        dropout = any(isinstance(m, nn.Dropout) and m.p > 0 for m in model.modules())
        dropout |= bool(getattr(model.config, "attention_dropout", 0))
        self._share_starts = not dropout and not config.gradient_checkpointing
        self._eval_cache: dict[str, list[Encoded]] = {}
        # The base model's evaluation per set of items (filled by the experiments' train module).
        self.base_items: dict[str, dict[str, tuple[list[float], list[int]]]] = {}

    def reset(self, seed: int) -> None:
        """Put the weights back to the base model; new LoRA adapters are drawn from `seed`."""
        torch.manual_seed(seed)
        if self.lora:
            from peft.tuners.lora import LoraLayer

            for module in self.model.modules():
                if isinstance(module, LoraLayer):
                    module.reset_lora_parameters("default", init_lora_weights=True)
        else:
            assert self._initial is not None
            self.model.load_state_dict(self._initial)

    def trainable(self) -> list[nn.Parameter]:
        return [p for p in self.model.parameters() if p.requires_grad]

    def autocast(self) -> Any:
        return torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.bf16)

    @contextlib.contextmanager
    def base_weights(self) -> Iterator[None]:
        """The model as it was before fine-tuning (adapters switched off)."""
        if self.lora:
            with self.model.disable_adapter():
                yield
        else:
            self.reset(0)
            yield

    @contextlib.contextmanager
    def merged_adapters(self) -> Iterator[None]:
        """For evaluation: each LoRA layer's base weight replaced by W + scaling x B A, adapters
        off, so a forward pass is one matmul per linear instead of three plus a scale and an
        add. The original weight tensors are put back untouched (not un-merged by subtracting,
        which would drift). bf16 frozen weights (`bf16`) keep the unmerged path: a merged bf16
        weight would round the adapters' update away. CPU only: the merged copies take as much
        memory again as the adapted weights, which a large model on a GPU may not have."""
        from peft.tuners.lora import LoraLayer

        layers = [m for m in self.model.modules() if isinstance(m, LoraLayer)]
        # Inside `base_weights` the adapters are switched off: merging them would evaluate the
        # fine-tuned model under the base model's name.
        switched_off = any(m.disable_adapters for m in layers)
        if not self.lora or self.bf16 or self.device.type != "cpu" or switched_off:
            yield
            return

        saved = []
        with torch.no_grad():
            for module in layers:
                base = module.get_base_layer()
                delta = sum(module.get_delta_weight(a) for a in module.active_adapters)
                saved.append((base, base.weight))
                base.weight = nn.Parameter(base.weight + delta, requires_grad=False)
        try:
            with self.model.disable_adapter():
                yield
        finally:
            for base, weight in saved:
                base.weight = weight

    @property
    def causal_lm(self) -> Any:
        """The transformers model itself (under LoRA, with its adapter layers in place)."""
        return self.model.get_base_model() if self.lora else self.model

    def encode_cached(self, examples: list[dict[str, Any]], max_length: int) -> list[Encoded]:
        """Encoded evaluation examples, tokenized once per process."""
        key = hash_object([examples, max_length])
        if key not in self._eval_cache:
            self._eval_cache[key] = encode_all(examples, self.tokenizer, max_length)
        return self._eval_cache[key]

    def loss_sum(self, ids: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, int]:
        """Summed cross-entropy over the labelled tokens and their count (next-token shift)."""
        losses, scored = self._token_losses(ids, labels)
        return losses.sum(), int(scored.sum())

    def row_losses(self, ids: torch.Tensor, labels: torch.Tensor) -> tuple[list[float], list[int]]:
        """Summed cross-entropy and labelled-token count of each row (each evaluation item), so
        intervals can resample items as well as seeds."""
        losses, scored = self._token_losses(ids, labels)
        rows = scored.nonzero()[:, 0]
        sums = torch.zeros(len(ids), device=losses.device).index_add_(0, rows, losses.detach())
        return sums.tolist(), scored.sum(dim=1).tolist()

    def _token_losses(
        self, ids: torch.Tensor, labels: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        ids, labels = ids.to(self.device), labels.to(self.device)
        targets = labels[:, 1:]
        scored = targets != IGNORE
        if self._head is not None:
            backbone, head = self._head
            shared = self._shared_start(ids, scored)
            hidden = self._hidden(backbone, ids, shared)[:, :-1]
            logits = head(hidden[scored[:, shared:]])
        else:
            logits = self.model(input_ids=ids, use_cache=False).logits[:, :-1][scored]
        return F.cross_entropy(logits.float(), targets[scored], reduction="none"), scored

    def _shared_start(self, ids: torch.Tensor, scored: torch.Tensor) -> int:
        """Leading tokens every row shares (the chat template's system prompt and user header),
        up to the first scored position; 0 when too few to be worth a separate forward."""
        if not self._share_starts or len(ids) < 2:
            return 0
        same = int((ids == ids[:1]).all(dim=0).long().cumprod(0).sum())
        first = torch.where(scored.any(dim=1), scored.long().argmax(dim=1), scored.shape[1])
        shared = min(same, int(first.min()))
        return shared if shared >= MIN_SHARED else 0

    @staticmethod
    def _hidden(backbone: nn.Module, ids: torch.Tensor, shared: int) -> torch.Tensor:
        """Last hidden states of ids[:, shared:]: the shared start runs once, for one row, and
        its key/value cache is repeated for every row (gradients from all rows flow back
        through the repeat, so training sees exactly what a full forward gives)."""
        if not shared:
            return backbone(input_ids=ids, use_cache=False).last_hidden_state
        start = backbone(input_ids=ids[:1, :shared], use_cache=True)[1]
        start.batch_repeat_interleave(len(ids))
        rest = {"input_ids": ids[:, shared:], "use_cache": True, cache_keyword(backbone): start}
        return backbone(**rest).last_hidden_state


def _add_lora(model: Any, config: ExperimentConfig) -> Any:
    from peft import LoraConfig, get_peft_model

    lora = LoraConfig(
        r=config.lora_r,
        lora_alpha=config.lora_alpha,
        lora_dropout=config.lora_dropout,
        target_modules=list(config.lora_targets),
        task_type="CAUSAL_LM",
    )
    try:
        with warnings.catch_warnings():  # peft still asks transformers 5 the deprecated name
            warnings.filterwarnings("ignore", "`is_gradient_checkpointing`", FutureWarning)
            return get_peft_model(model, lora)
    except ValueError as exc:
        raise UserError(
            f"LoRA targets {','.join(config.lora_targets)} do not fit {config.base_model}: "
            f"{str(exc).splitlines()[0]}"
        ) from exc


def _enable_checkpointing(model: Any) -> None:
    """Recompute activations in backward, under the name this transformers version uses."""
    enable = getattr(model, "activation_checkpointing_enable", None)  # transformers 5
    if enable is not None:
        enable(activation_checkpointing_kwargs={"use_reentrant": False})
    else:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})


def _store_frozen_linears_in_bf16(model: nn.Module) -> None:
    """Frozen linear weights as bf16 (a tied output head gets its own copy, so it is untied)."""
    for module in model.modules():
        if isinstance(module, nn.Linear) and not module.weight.requires_grad:
            if module.weight.dtype == torch.float32:
                module.weight = nn.Parameter(module.weight.detach().bfloat16(), requires_grad=False)


def _plain_head(model: Any) -> tuple[nn.Module, nn.Module] | None:
    """(backbone, output head) when logits are exactly `head(backbone(...))`, else None."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    if base.config.model_type not in _PLAIN_HEAD_TYPES:
        return None
    backbone = getattr(base, base.base_model_prefix, None)
    head = base.get_output_embeddings()
    if backbone is None or not isinstance(head, nn.Linear):
        return None
    return backbone, head


_WARM: dict[str, WarmModel] = {}


def warm_model(config: ExperimentConfig) -> WarmModel:
    """This process's warm model for `config`; a different base model replaces the old one."""
    key = hash_object({f: getattr(config, f) for f in _MODEL_FIELDS})
    if key not in _WARM:
        _WARM.clear()
        _WARM[key] = WarmModel(config)
    return _WARM[key]
