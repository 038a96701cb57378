"""Load models by HF id, local folder, GGUF file or bundled offline alias; shared by all stages."""

from instructmining.models.loader import (
    DEFAULT_EMBEDDER,
    DEFAULT_LM,
    LoadedLM,
    load_causal_lm,
    load_embedder,
    model_identity,
    resolve_model,
    select_device,
)

__all__ = [
    "DEFAULT_EMBEDDER",
    "DEFAULT_LM",
    "LoadedLM",
    "load_causal_lm",
    "load_embedder",
    "model_identity",
    "resolve_model",
    "select_device",
]
