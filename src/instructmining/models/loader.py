"""One loader for causal LMs, sequence classifiers, seq2seq models and embedders.

A name may be a bundled alias (`smollm2-135m-instruct`), a Hub id, a local folder or a `.gguf`
file. GGUF weights are dequantised once per cache into safetensors (models/gguf.py); a
tokenizer alone is read from the GGUF file's metadata, so a run that only counts tokens
converts nothing. Every load first applies `quiet_third_party`, so the Python API is as quiet
as a command.
"""

from __future__ import annotations

import functools
import os
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import torch

from instructmining.errors import ModelLoadError, UserError, param
from instructmining.hashing import hash_file, hash_object
from instructmining.models.bundled import BUNDLED, HUB_ALIASES, bundled_path, install_hint
from instructmining.models.gguf import convert_gguf, is_converted
from instructmining.progress import quiet_third_party

DEFAULT_LM = "smollm2-135m-instruct"
DEFAULT_EMBEDDER = "all-minilm-l6-v2"


def cache_root() -> Path:
    """Where converted weights live: $INSTRUCTMINING_CACHE or ~/.cache/instructmining."""
    env = os.environ.get("INSTRUCTMINING_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "instructmining"


def select_device(device: str = "auto") -> torch.device:
    """`auto` picks CUDA when visible, else CPU; `cuda` or `mps` without one is a clear error
    (MPS, Apple silicon's GPU, is used only when asked for: it computes in fp32)."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ModelLoadError(device, "no CUDA device is visible")
    if device == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise UserError(
                f"{param('device')} mps: no Apple-silicon GPU (MPS) is visible; use auto or cpu"
            )
        return torch.device("mps")
    if device not in ("cpu",) and not device.startswith("cuda"):
        raise UserError(f"{param('device')} must be auto, cpu, cuda or mps, not {device!r}")
    return torch.device(device)


def resolve_model(name: str) -> str:
    """Map a bundled alias or its Hub id to a local path; other names pass through unchanged."""
    alias = HUB_ALIASES.get(name, name).lower()
    if alias in BUNDLED:
        path = bundled_path(alias)
        if path is not None:
            return str(path)
        if name in HUB_ALIASES:
            return name
        raise ModelLoadError(name, f"bundled model not installed ({install_hint(alias)})")
    return name


def model_identity(name: str) -> str:
    """A string naming the exact weights, for cache keys and provenance.

    Local files and folders are identified by content (a GGUF file's hash; a folder's config and
    weight-file sizes), Hub ids by id and the resolved snapshot when one is cached.
    """
    path = Path(resolve_model(name))
    if path.is_file():
        return f"file:{path.name}:{hash_file(path)}"
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix != ".lock")
        fingerprint = [(str(p.relative_to(path)), p.stat().st_size) for p in files]
        config = path / "config.json"
        config_text = config.read_text() if config.exists() else ""
        return f"dir:{path.name}:{hash_object([fingerprint, config_text])}"
    snapshot = _hub_snapshot(name)
    return f"hub:{name}@{snapshot}" if snapshot else f"hub:{name}"


def _hub_snapshot(name: str) -> str | None:
    """The commit of a Hub model's cached snapshot, when the local HF cache holds one."""
    try:
        from huggingface_hub import try_to_load_from_cache

        found = try_to_load_from_cache(name, "config.json")
    except Exception:  # noqa: BLE001 - a name that is no repo id simply has no snapshot
        return None
    return Path(found).parent.name if isinstance(found, str) else None


def model_availability(name: str) -> str:
    """Where a model would load from without a network: for `--list` style listings."""
    alias = HUB_ALIASES.get(name, name).lower()
    if alias in BUNDLED:
        if bundled_path(alias) is not None:
            return "bundled (installed)"
        return f"bundled, not installed ({install_hint(alias)})"
    if Path(name).expanduser().exists():
        return "local path"
    if name.startswith((".", "/", "~")) or name.endswith(".gguf"):
        return "missing (no such path)"
    if _hub_snapshot(name):
        return "HF cache"
    return "not offline (needs the Hugging Face Hub)"


def _load_error(name: str, exc: BaseException) -> ModelLoadError:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    offline_words = ("couldn't connect", "offline", "connection", "resolve", "not a valid model")
    if any(w in text.lower() for w in offline_words) or "huggingface.co" in text:
        return ModelLoadError(name, "not available offline here (no local copy, Hub unreachable)")
    return ModelLoadError(name, text[:300])


def _gguf_cache_dir(gguf: Path) -> Path:
    return cache_root() / "gguf" / f"{gguf.stem}-{hash_file(gguf)}"


def _gguf_file(name: str) -> Path | None:
    """The GGUF file `name` resolves to; None for a name that is no `.gguf` file."""
    path = Path(resolve_model(name))
    if path.suffix != ".gguf":
        return None
    if not path.is_file():
        raise ModelLoadError(name, f"no such file: {path}")
    return path


def local_weights(name: str) -> str:
    """A path or id that `from_pretrained` can load, converting GGUF files on first use."""
    quiet_third_party()
    gguf = _gguf_file(name)
    if gguf is not None:
        try:
            return str(convert_gguf(gguf, _gguf_cache_dir(gguf)))
        except Exception as exc:  # noqa: BLE001 - any failure becomes one line naming the model
            raise _load_error(name, exc) from exc
    resolved = resolve_model(name)
    path = Path(resolved)
    if (resolved.startswith((".", "/", "~")) or os.sep in resolved and path.exists()) and not (
        path.exists()
    ):
        raise ModelLoadError(name, f"no such file or folder: {path}")
    if not path.exists() and not _hub_snapshot(resolved) and not hub_reachable():
        raise ModelLoadError(name, "not available offline here (no local copy, Hub unreachable)")
    return resolved


@functools.cache
def hub_reachable(timeout: float = 3.0) -> bool:
    """Whether the Hugging Face Hub answers at all; checked once, so offline fails fast.

    Without this check an uncached Hub id spends about a minute in download retries before
    failing.
    """
    if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes"):
        return False
    host = urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co")).hostname
    try:
        socket.create_connection((host or "huggingface.co", 443), timeout=timeout).close()
    except OSError:
        return False
    return True


def _offline_kwargs(source: str) -> dict[str, Any]:
    """Load a Hub id from the local cache only when the Hub cannot be reached."""
    return {} if Path(source).exists() or hub_reachable() else {"local_files_only": True}


@dataclass
class LoadedLM:
    """A model with its tokenizer, where it runs and the identity used for cache keys."""

    model: Any
    tokenizer: Any
    device: torch.device
    identity: str


def _from_pretrained(loader: Any, name: str, **kwargs: Any) -> Any:
    source = local_weights(name)
    try:
        return loader.from_pretrained(source, **kwargs, **_offline_kwargs(source))
    except Exception as exc:  # noqa: BLE001
        raise _load_error(name, exc) from exc


def load_tokenizer(name: str) -> Any:
    """The tokenizer of a model, with a pad token (the EOS token when it has none).

    A GGUF file's tokenizer comes from its converted folder when there is one, else from the
    file's metadata, without dequantising the weights (the slow part of a conversion): a run
    that only counts tokens converts nothing."""
    from transformers import AutoTokenizer

    gguf = _gguf_file(name)
    if gguf is None:
        tokenizer = _from_pretrained(AutoTokenizer, name)
    else:
        converted = _gguf_cache_dir(gguf)
        kwargs: dict[str, Any] = {} if is_converted(converted) else {"gguf_file": gguf.name}
        quiet_third_party()
        try:
            tokenizer = AutoTokenizer.from_pretrained(
                gguf.parent if kwargs else converted, **kwargs
            )
        except Exception as exc:  # noqa: BLE001 - any failure becomes one line naming the model
            raise _load_error(name, exc) from exc
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


# What each loader's task head is, for the message that refuses a model without one.
_HEADS = {
    "AutoModelForCausalLM": "a language-model head (a causal LM)",
    "AutoModelForSequenceClassification": "a reward head (a sequence classifier)",
    "AutoModelForSeq2SeqLM": "a sequence-to-sequence head (an encoder-decoder such as T5)",
}


def check_loading_info(name: str, loader_name: str, info: dict[str, Any]) -> None:
    """Refuse a model whose weights transformers had to draw at random.

    A missing or shape-mismatched key (a causal LM loaded as a reward model lacks `score.weight`)
    is newly initialised by transformers with only a log line; its scores would be noise.
    """
    missing = sorted(info.get("missing_keys") or [])
    mismatched = sorted(
        str(k[0] if isinstance(k, tuple) else k) for k in info.get("mismatched_keys") or []
    )
    lacking = missing + mismatched
    if not lacking:
        return
    head = _HEADS.get(loader_name, loader_name)
    shown = ", ".join(lacking[:3]) + (f" and {len(lacking) - 3} more" if len(lacking) > 3 else "")
    raise ModelLoadError(
        name,
        f"it lacks {head}: its checkpoint has no {shown}, which transformers would initialise "
        "at random (scores would be noise); pass a model trained for this task",
    )


def _load(loader_name: str, name: str, device: str) -> LoadedLM:
    import transformers

    dev = select_device(device)
    loader = getattr(transformers, loader_name)
    model, info = _from_pretrained(loader, name, dtype=torch.float32, output_loading_info=True)
    check_loading_info(name, loader_name, info)
    model.to(dev).eval()
    tokenizer = load_tokenizer(name)
    if getattr(model.config, "pad_token_id", None) is None:
        model.config.pad_token_id = tokenizer.pad_token_id
    return LoadedLM(model=model, tokenizer=tokenizer, device=dev, identity=model_identity(name))


def load_causal_lm(name: str = DEFAULT_LM, device: str = "auto") -> LoadedLM:
    """A causal LM in fp32 weights (bf16 autocast is applied at compute time where supported)."""
    return _load("AutoModelForCausalLM", name, device)


def load_sequence_classifier(name: str, device: str = "auto") -> LoadedLM:
    """A reward model: a sequence classifier whose first logit is the score."""
    return _load("AutoModelForSequenceClassification", name, device)


def load_seq2seq(name: str, device: str = "auto") -> LoadedLM:
    """An encoder-decoder model (UniEval is a T5)."""
    return _load("AutoModelForSeq2SeqLM", name, device)


def load_embedder(name: str = DEFAULT_EMBEDDER, device: str = "auto") -> Any:
    """A sentence-transformers model."""
    from sentence_transformers import SentenceTransformer

    dev = select_device(device)
    source = local_weights(name)
    try:
        return SentenceTransformer(source, device=str(dev), **_offline_kwargs(source))
    except Exception as exc:  # noqa: BLE001
        raise _load_error(name, exc) from exc


def bf16_autocast(device: torch.device) -> Any:
    """bf16 autocast on CUDA, and on CPUs that have native bf16 (AVX-512 BF16 / AMX)."""
    enabled = device.type == "cuda" or cpu_has_bf16()
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=enabled)


def cpu_has_bf16() -> bool:
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags
