"""A GGUF file's weights, dequantised once per cache into a safetensors folder.

transformers cannot save a GGUF-loaded model, so the same architecture is rebuilt from its
config and given the state dict; later loads take well under a second instead of about 14 s.
A file lock makes a second process wait for the first conversion instead of repeating it.

transformers draws its "Converting and de-quantizing GGUF tensors" bar with a bare tqdm that
none of its switches turns off; in a log it is a run of carriage returns. While converting, the
tensors are counted on the project's own progress bar instead (a plain line outside a terminal).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import torch
from filelock import FileLock

from instructmining.progress import progress_bar

CONFIG = "config.json"  # written last: a folder holding it is a finished conversion


def is_converted(folder: Path) -> bool:
    """Whether `folder` holds a finished conversion."""
    return (folder / CONFIG).exists()


def convert_gguf(gguf: Path, target: Path) -> Path:
    """Dequantise `gguf` into the safetensors folder `target` unless that is done; returns it."""
    if is_converted(target):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target.with_name(f"{target.name}.lock"))):
        if not is_converted(target):  # another process may have converted it while we waited
            for left in target.parent.glob(f"{target.name}.tmp*"):  # a killed conversion's
                shutil.rmtree(left, ignore_errors=True)
            _write_converted(gguf, target)
    return target


def _write_converted(gguf: Path, target: Path) -> None:
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    with _tensor_progress(f"converting {gguf.name} to safetensors (once per cache)") as saved:
        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        model = AutoModelForCausalLM.from_pretrained(
            gguf.parent, gguf_file=gguf.name, dtype=torch.float32
        )
        config = AutoConfig.from_pretrained(gguf.parent, gguf_file=gguf.name)
        if hasattr(config, "quantization_config"):
            del config.quantization_config
        plain = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
        plain.load_state_dict(model.state_dict())
        if plain.config.tie_word_embeddings:
            plain.tie_weights()
        tmp = target.with_name(f"{target.name}.tmp{os.getpid()}")
        plain.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        (tmp / "instructmining.json").write_text(json.dumps({"converted_from": str(gguf)}))
        shutil.rmtree(target, ignore_errors=True)  # an unfinished folder, never a finished one
        os.replace(tmp, target)
        saved()


@contextlib.contextmanager
def _tensor_progress(label: str) -> Iterator[Callable[[], None]]:
    """Our bar over the tensors transformers dequantises (plus one step for saving them), in
    place of its bare tqdm; yields the function that marks the save done."""
    from transformers import modeling_gguf_pytorch_utils as gguf_utils

    bar = progress_bar("tensors")

    def counted(tensors: Iterable[Any], *_: Any, **__: Any) -> Iterator[Any]:
        tensors = list(tensors)
        bar.update(task, total=len(tensors) + 1)
        for tensor in tensors:
            yield tensor
            bar.advance(task)

    bare = getattr(gguf_utils, "tqdm", None)
    if bare is not None:
        gguf_utils.tqdm = counted
    try:
        with bar:  # started first, so lines waiting for the work to start come before ours
            task = bar.add_task(label, total=None, status="")
            yield lambda: bar.advance(task)
    finally:
        if bare is not None:
            gguf_utils.tqdm = bare
