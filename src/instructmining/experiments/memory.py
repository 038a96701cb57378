"""GPU memory a fine-tuning config needs, computed from the model's shape (not measured).

Counted as this project trains (experiments/model.py, train.py): weights loaded in fp32; full
fine-tuning keeps fp32 weights, fp32 gradients and two fp32 AdamW states (16 bytes a
parameter) plus the bf16 copies autocast makes in a forward pass; LoRA stores the frozen linear
weights in bf16 (2 bytes) and trains fp32 adapters (16 bytes a parameter). Activations assume
gradient checkpointing: each layer's fp32 input kept, one layer recomputed at a time, and the
logits in bf16 and fp32 with their gradient. CUDA context and allocator slack add about 10%.
"""

from __future__ import annotations

from dataclasses import dataclass

GB = 1e9


@dataclass(frozen=True)
class Shape:
    """What memory depends on: parameters, layers and widths of a decoder LM."""

    params: float
    layers: int
    hidden: int
    intermediate: int
    vocab: int
    kv_hidden: int | None = None  # grouped-query attention: width of k and v (None: hidden)


LLAMA2_7B = Shape(params=6.74e9, layers=32, hidden=4096, intermediate=11008, vocab=32000)
# q,k,v,o and gate,up,down: the linear layers LoRA targets by default (LORA_TARGETS).


def lora_params(shape: Shape, r: int) -> float:
    """Adapter parameters: r x (in + out) for each targeted linear layer."""
    kv = shape.kv_hidden or shape.hidden
    attention = 2 * (shape.hidden + shape.hidden) + 2 * (shape.hidden + kv)
    mlp = 3 * (shape.hidden + shape.intermediate)
    return shape.layers * r * (attention + mlp)


def memory_gb(shape: Shape, lora: bool, batch_size: int, max_length: int, lora_r: int = 16) -> dict:
    """Bytes (in GB) by part: weights, trained state, activations, overhead and total."""
    embeddings = shape.vocab * shape.hidden
    if lora:
        weights = (shape.params - embeddings) * 2 + embeddings * 4  # frozen linears in bf16
        trained = lora_params(shape, lora_r) * 16
    else:
        weights = shape.params * 4 + shape.params * 2  # fp32 weights + autocast's bf16 copies
        trained = shape.params * 12  # fp32 gradients + two AdamW states
    tokens = batch_size * max_length
    checkpoints = shape.layers * tokens * shape.hidden * 4
    one_layer = tokens * (10 * shape.hidden + 4 * shape.intermediate) * 2
    logits = tokens * shape.vocab * (2 + 4 + 4)
    activations = checkpoints + one_layer + logits
    parts = {"weights": weights, "trained": trained, "activations": activations}
    parts["overhead"] = 0.1 * sum(parts.values())
    parts["total"] = sum(parts.values())
    return {k: v / GB for k, v in parts.items()}
