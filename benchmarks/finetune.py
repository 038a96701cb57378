"""Training speed and peak memory: our fine-tuning loop against a plain `transformers.Trainer`.

Same base model, data (the same token ids and response-only labels), LoRA settings and
hyperparameters (AdamW, lr, warm-up + cosine, epochs, batch size, clipping, seed). Ours adds
length-grouped batches and bf16 autocast with bf16 frozen weights; the Trainer variants are its
default (fp32, random batches), with `bf16=True`, and with bf16 and `group_by_length`.

Each variant runs in its own subprocess, so `ru_maxrss` is that variant's peak memory (model
load included; tracemalloc cannot see torch's allocations). Repeats interleave variants and the
table shows medians.

Our run also prints its achieved FLOP/s against the matmul peak of its own precision (fp32, or
bf16 where the CPU has it natively), measured in the same subprocess right after training with
`machine.matmul_peak`, the peak `indicators.py` uses. The FLOPs are counted in `lora_flops`.

    .venv/bin/python benchmarks/finetune.py --examples 64 --repeats 1
    .venv/bin/python benchmarks/finetune.py --quick  # smoke run: 8 examples, ours vs fp32 Trainer
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from machine import machine_line, matmul_peak

DOLLY = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "dolly"
DEFAULT_DATA = DOLLY / "alpagasus_dolly_3k.json"
VARIANTS = ["ours", "trainer", "trainer-bf16", "trainer-bf16-grouped"]


def _config(args: argparse.Namespace):
    from instructmining.experiments import preset

    return preset("cpu-small", max_length=args.max_length, epochs=args.epochs)


def _encoded(args: argparse.Namespace, tokenizer):
    from instructmining.data import read_examples
    from instructmining.experiments.encoding import encode_all

    examples = read_examples(args.data).iloc[: args.examples].to_dict("records")
    return encode_all(examples, tokenizer, args.max_length)


def lora_flops(model: Any, tokens: int, scored: int) -> float:
    """Matmul FLOPs of a LoRA fine-tune over `tokens` real tokens, `scored` of them response tokens.

    With n the weights of a frozen linear, V x H the output head, r x (in + out) an adapter's
    A and B, T = `tokens` and R = `scored`. These are the nominal FLOPs of the tokens trained on
    (as model-FLOPs utilisation counts them): padding is not counted, and work the run avoids
    (the shared prompt start run once per batch) counts as done, as any speed-up would:
      frozen decoder linears   4 n T           forward 2nT, input gradients 2nT, no weight grads
      output head (frozen)     4 V H R         run at response positions only (`WarmModel`)
      each adapter             6 r (in+out) T  forward, input gradients, weight gradients
    Not counted: attention's QK^T and AV products (4 x context x H per token and layer
    forward, under 5% of the linears' FLOPs up to 256 tokens), norms, activations, softmax and the
    optimizer; and layer 0's q/k/v input gradients, which autograd skips (under 1%), are counted.
    Every decoder linear carries an adapter under cpu-small, so the frozen linears are the
    adapters' base layers. Full fine-tuning would be 6 x trainable-path parameters x tokens.
    """
    from peft.tuners.lora import LoraLayer

    frozen = adapters = 0
    for module in model.modules():
        if isinstance(module, LoraLayer):
            frozen += module.get_base_layer().weight.numel()
            for name in module.active_adapters:
                adapters += module.lora_A[name].weight.numel() + module.lora_B[name].weight.numel()
    head = model.get_output_embeddings().weight.numel()
    return 4 * frozen * tokens + 6 * adapters * tokens + 4 * head * scored


def run_ours(args: argparse.Namespace) -> dict:
    import torch

    from instructmining.experiments.model import WarmModel
    from instructmining.experiments.train import train

    config = _config(args)
    warm = WarmModel(config)
    encoded = _encoded(args, warm.tokenizer)
    started = time.perf_counter()
    loss, tokens = train(warm, encoded, config, seed=0)
    seconds = time.perf_counter() - started
    scored = sum(e.loss_tokens for e in encoded) * config.epochs
    dtype = torch.bfloat16 if warm.bf16 else torch.float32
    peak, _ = matmul_peak(warm.model.config, args.quick, dtype)
    return {
        "seconds": seconds,
        "tokens": tokens,
        "final_loss": loss,
        "flops": lora_flops(warm.model, tokens, scored),
        "peak_gflops": peak,
        "precision": "bf16" if warm.bf16 else "fp32",
    }


def run_trainer(args: argparse.Namespace, bf16: bool, grouped: bool) -> dict:
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import Trainer, TrainingArguments

    from instructmining.models.loader import load_causal_lm

    config = _config(args)
    loaded = load_causal_lm(config.base_model, "cpu")
    model = get_peft_model(
        loaded.model,
        LoraConfig(
            r=config.lora_r,
            lora_alpha=config.lora_alpha,
            lora_dropout=config.lora_dropout,
            target_modules=list(config.lora_targets),
            task_type="CAUSAL_LM",
        ),
    )
    encoded = _encoded(args, loaded.tokenizer)
    rows = [{"input_ids": list(e.ids), "labels": e.labels} for e in encoded]
    pad = loaded.tokenizer.pad_token_id

    def collate(batch: list[dict]) -> dict:
        width = max(len(r["input_ids"]) for r in batch)
        ids = torch.full((len(batch), width), pad)
        labels = torch.full((len(batch), width), -100)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for i, r in enumerate(batch):
            n = len(r["input_ids"])
            ids[i, :n] = torch.tensor(r["input_ids"])
            labels[i, :n] = torch.tensor(r["labels"])
            mask[i, :n] = 1
        return {"input_ids": ids, "labels": labels, "attention_mask": mask}

    with tempfile.TemporaryDirectory() as out:
        training = TrainingArguments(
            output_dir=out,
            per_device_train_batch_size=config.batch_size,
            gradient_accumulation_steps=config.grad_accum,
            num_train_epochs=config.epochs,
            learning_rate=config.lr,
            lr_scheduler_type=config.schedule,
            warmup_steps=config.warmup,
            weight_decay=config.weight_decay,
            max_grad_norm=config.max_grad_norm,
            optim="adamw_torch",
            seed=0,
            bf16=bf16,
            use_cpu=True,
            train_sampling_strategy="group_by_length" if grouped else "random",
            save_strategy="no",
            logging_steps=1,
            report_to="none",
            disable_tqdm=True,
            remove_unused_columns=False,
        )
        trainer = Trainer(model=model, args=training, train_dataset=rows, data_collator=collate)
        started = time.perf_counter()
        trainer.train()
        seconds = time.perf_counter() - started
    steps = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    last_epoch = steps[len(steps) // config.epochs * (config.epochs - 1) :]
    tokens = sum(len(e.ids) for e in encoded) * config.epochs
    return {"seconds": seconds, "tokens": tokens, "final_loss": statistics.mean(last_epoch)}


def run_variant(args: argparse.Namespace) -> None:
    """In the subprocess: train once and print one JSON line."""
    import torch

    if args.threads is not None:
        from instructmining.threads import apply_thread_budget

        apply_thread_budget(args.threads)
    if args.variant == "ours":
        result = run_ours(args)
    else:
        result = run_trainer(
            args, bf16="bf16" in args.variant, grouped=args.variant.endswith("grouped")
        )
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result["threads"] = torch.get_num_threads()
    print(json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--examples", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--max-length", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--threads", type=int, help="thread budget of each run (default: torch's)")
    parser.add_argument("--variant", help=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    args = parser.parse_args()
    if args.quick:
        args.examples, args.epochs, args.max_length, args.repeats = 8, 1, 64, 1
        args.variants = "ours,trainer"  # fp32 Trainer: bf16 is emulated (slow) on CPUs without it
    if args.variant:
        run_variant(args)
        return
    variants = args.variants.split(",")
    results: dict[str, list[dict]] = {v: [] for v in variants}
    for repeat in range(args.repeats):
        for variant in variants:
            command = [sys.executable, __file__, "--variant", variant, "--data", str(args.data)]
            command += ["--examples", str(args.examples), "--epochs", str(args.epochs)]
            command += ["--max-length", str(args.max_length)]
            command += ["--threads", str(args.threads)] if args.threads else []
            command += ["--quick"] if args.quick else []
            done = subprocess.run(command, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                sys.exit(f"{variant} failed:\n{done.stderr[-3000:]}")
            results[variant].append(json.loads(done.stdout.strip().splitlines()[-1]))
            last = results[variant][-1]
            rate = last["tokens"] / last["seconds"]
            print(f"repeat {repeat + 1} {variant}: {rate:.0f} tokens/s", file=sys.stderr)
    _print_table(results, args)


def _print_table(results: dict[str, list[dict]], args: argparse.Namespace) -> None:
    def median(variant: str, key: str) -> float:
        return statistics.median(r[key] for r in results[variant])

    rate = {
        v: statistics.median(r["tokens"] / r["seconds"] for r in rs) for v, rs in results.items()
    }
    reference = rate.get("ours")
    threads = sorted({r["threads"] for rs in results.values() for r in rs})
    print(f"{machine_line()}; each run trained with {'/'.join(map(str, threads))} torch threads")
    print(
        f"{args.examples} Dolly examples, {args.epochs} epochs, max length {args.max_length}, "
        f"SmolLM2-135M-Instruct + LoRA r16 (all projections), batch 8; "
        f"median of {args.repeats} run(s) each"
    )
    print(
        f"{'variant':<22} {'tokens/s':>9} {'ours / it':>10} {'train s':>8} {'peak RSS MB':>12} "
        f"{'last-epoch loss':>16}"
    )
    for variant in results:
        ratio = f"{reference / rate[variant]:.2f}x" if reference else "-"
        print(
            f"{variant:<22} {rate[variant]:>9.0f} {ratio:>10} {median(variant, 'seconds'):>8.1f} "
            f"{median(variant, 'peak_rss_mb'):>12.0f} {median(variant, 'final_loss'):>16.3f}"
        )
    if "ours" in results:
        ours = results["ours"]
        achieved = statistics.median(r["flops"] / r["seconds"] for r in ours) / 1e9
        peak, precision = median("ours", "peak_gflops"), ours[0]["precision"]
        print(
            f"fine-tune FLOP/s (ours, LoRA matmuls counted in lora_flops) {achieved:.0f} GFLOP/s, "
            f"{achieved / peak:.0%} of the {precision} matmul peak ({peak:.0f} GFLOP/s, "
            f"median over square and model shapes, measured in the same run)"
        )


if __name__ == "__main__":
    main()
