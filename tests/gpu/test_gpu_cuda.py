"""The CUDA paths: fine-tunes (LoRA and full, one worker per GPU) and model-based indicators.

CI has no GPU, so these skip there; run them on a GPU machine with `pytest tests/gpu`. They use
tiny random models of each family (built here, no download), so they check placement, bf16 on
CUDA and agreement with the CPU, not the values of real models.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from tiny_models import (
    chat_tokenizer,
    save_tiny_llama,
    save_tiny_reward_model,
    save_tiny_unieval_model,
)

from instructmining.distributed.executor import GpuPoolExecutor
from instructmining.experiments import finetune_and_evaluate, preset
from instructmining.experiments.model import warm_model
from instructmining.indicators import IndicatorOptions, compute_indicators

pytestmark = pytest.mark.skipif(
    not torch.cuda.is_available(), reason="needs a CUDA device (run on a GPU machine)"
)

SAMPLE = Path(__file__).resolve().parents[1] / "indicators" / "data" / "sample_pool.jsonl"


@pytest.fixture(scope="module")
def pool() -> pd.DataFrame:
    return pd.read_json(SAMPLE, lines=True, dtype=False)


@pytest.fixture(scope="module")
def models(tmp_path_factory, pool) -> dict[str, Path]:
    texts = [*pool.instruction, *pool.input, *pool.output, "Yes No"]
    root = tmp_path_factory.mktemp("tiny")
    return {
        "llama": save_tiny_llama(root / "llama", chat_tokenizer(texts)),
        "reward": save_tiny_reward_model(root / "reward", texts),
        "unieval": save_tiny_unieval_model(root / "unieval", texts),
    }


def _config(model: Path, device: str, **overrides):
    values = {"max_length": 96, "batch_size": 4, "lr": 5e-3, "epochs": 2, **overrides}
    return preset("cpu-small", base_model=str(model), device=device, **values)


def _records(pool: pd.DataFrame, rows: slice) -> list[dict]:
    return pool.iloc[rows].to_dict("records")


def test_lora_finetune_runs_on_cuda_and_agrees_with_cpu(models, pool):
    train, evals = _records(pool, slice(0, 16)), _records(pool, slice(16, 33))
    on_gpu = finetune_and_evaluate(train, evals, _config(models["llama"], "cuda"), seed=0)
    warm = warm_model(_config(models["llama"], "cuda"))
    assert warm.device.type == "cuda" and warm.bf16
    assert all(p.device.type == "cuda" for p in warm.trainable())
    again = finetune_and_evaluate(train, evals, _config(models["llama"], "cuda"), seed=0)
    assert abs(again.eval_loss - on_gpu.eval_loss) < 1e-3  # cuBLAS need not be bit-identical
    on_cpu = finetune_and_evaluate(train, evals, _config(models["llama"], "cpu"), seed=0)
    base = finetune_and_evaluate([], evals, _config(models["llama"], "cpu"))
    assert on_gpu.eval_loss < base.eval_loss  # training helped on the GPU too
    assert abs(on_gpu.eval_loss - on_cpu.eval_loss) < 0.05 * base.eval_loss


def test_full_finetune_with_checkpointing_restores_the_base_between_runs(models, pool):
    config = _config(models["llama"], "cuda", lora=False, gradient_checkpointing=True, lr=1e-3)
    train, evals = _records(pool, slice(0, 8)), _records(pool, slice(16, 33))
    base = finetune_and_evaluate([], evals, config)
    tuned = finetune_and_evaluate(train, evals, config, seed=0)
    assert np.isfinite(tuned.train_loss) and tuned.eval_loss != base.eval_loss
    assert finetune_and_evaluate([], evals, config).eval_loss == pytest.approx(base.eval_loss)


def _evaluate_on_visible_gpu(model: str) -> tuple[str, str, float]:
    """Runs in a GpuPoolExecutor worker: which GPU it sees and a base evaluation there."""
    import os

    pool = pd.read_json(SAMPLE, lines=True, dtype=False)
    config = preset("cpu-small", base_model=model, device="auto", max_length=96)
    result = finetune_and_evaluate([], pool.iloc[:8].to_dict("records"), config)
    device = str(warm_model(config).device)
    return os.environ.get("CUDA_VISIBLE_DEVICES", ""), device, result.eval_loss


def test_one_worker_per_gpu_sees_only_its_gpu(models):
    gpus = list(range(torch.cuda.device_count()))
    tasks = [str(models["llama"])] * len(gpus)
    results = [r for _, r in GpuPoolExecutor(gpus).map(_evaluate_on_visible_gpu, tasks)]
    assert all(not isinstance(r, BaseException) for r in results), results
    assert sorted(r[0] for r in results) == [str(g) for g in gpus]
    assert {r[1] for r in results} == {"cuda"}
    assert len({round(r[2], 4) for r in results}) == 1


@pytest.mark.parametrize(
    ("names", "option"),
    [
        ("ppl,ifd,length", "lm"),
        ("judge", "judge_model"),
        ("reward", "reward_model"),
        ("unieval", "unieval_model"),
    ],
)
def test_indicators_on_cuda_match_the_cpu(models, pool, tmp_path, names, option):
    model = models["llama"] if option in ("lm", "judge_model") else models[option.split("_")[0]]
    values = {}
    for device in ("cpu", "cuda"):
        options = IndicatorOptions(device=device, bf16=False, batch_size=8, **{option: str(model)})
        cache = tmp_path / device
        values[device] = compute_indicators(pool, names, options, cache_dir=cache, progress=False)
    cpu, gpu = values["cpu"], values["cuda"]
    assert list(cpu.columns) == list(gpu.columns) and len(cpu) == len(pool)
    for column in cpu.columns.drop("id"):
        np.testing.assert_allclose(gpu[column], cpu[column], rtol=2e-3, atol=1e-4, err_msg=column)
    bf16 = IndicatorOptions(device="cuda", batch_size=8, **{option: str(model)})
    fast = compute_indicators(pool, names, bf16, cache_dir=tmp_path / "bf16", progress=False)
    for column in cpu.columns.drop("id"):
        np.testing.assert_allclose(fast[column], cpu[column], rtol=0.1, atol=0.05, err_msg=column)


def test_bf16_token_scoring_keeps_its_bf16_softmax_under_cuda_autocast():
    """CUDA autocast runs softmax in fp32; token_nll opts out so bf16 logits stay cheap to score."""
    from instructmining.indicators.lm import token_nll

    generator = torch.Generator().manual_seed(0)
    logits = (4 * torch.randn(64, 4096, generator=generator)).bfloat16().cuda()
    targets = torch.randint(0, 4096, (64,), generator=generator).cuda()
    with torch.autocast("cuda", dtype=torch.bfloat16):
        inside = token_nll(logits, targets)
    torch.testing.assert_close(inside, token_nll(logits, targets))
