"""Fine-tuning mechanics on a tiny random Llama: loss, masking, determinism, warm resets."""

from __future__ import annotations

import math
import warnings

import torch

from instructmining.experiments import finetune_and_evaluate
from instructmining.experiments.batching import collate
from instructmining.experiments.encoding import encode_all
from instructmining.experiments.model import WarmModel, warm_model
from instructmining.indicators.lm import MIN_SHARED, common_start


def _fp32(config):
    return config.model_copy(update={"bf16": False})


def test_train_loss_falls_on_a_repeated_example(tiny_config, pool):
    example = pool.iloc[0].to_dict()
    copies = [{**example, "id": str(i)} for i in range(8)]
    config = tiny_config.model_copy(update={"epochs": 4, "lr": 2e-2})
    before = finetune_and_evaluate([], [example], config)
    after = finetune_and_evaluate(copies, [example], config, seed=0)
    assert math.isnan(before.train_loss) and before.examples == 0
    assert after.train_loss < before.eval_loss - 2.0
    assert after.eval_loss < before.eval_loss - 2.0
    assert after.examples == 8 and after.tokens > 0


def test_same_seed_reproduces_and_other_seeds_differ(tiny_config, pool, eval_items):
    train = pool.iloc[:8]
    first = finetune_and_evaluate(train, eval_items, tiny_config, seed=0)
    again = finetune_and_evaluate(train, eval_items, tiny_config, seed=0)
    other = finetune_and_evaluate(train, eval_items, tiny_config, seed=1)
    assert abs(first.eval_loss - again.eval_loss) < 1e-6
    assert abs(first.train_loss - again.train_loss) < 1e-6
    assert abs(first.eval_loss - other.eval_loss) > 1e-5


def test_base_model_loss_is_unchanged_by_earlier_runs(tiny_config, pool, eval_items):
    """The warm model is reset, not reloaded: a run must leave no trace on the next one."""
    for lora in (True, False):
        config = tiny_config.model_copy(update={"lora": lora})
        before = finetune_and_evaluate([], eval_items, config).eval_loss
        trained = finetune_and_evaluate(pool.iloc[:8], eval_items, config, seed=3).eval_loss
        after = finetune_and_evaluate([], eval_items, config).eval_loss
        assert trained != before
        assert abs(before - after) < 1e-6


def test_the_base_evaluation_after_a_fine_tune_is_the_base_models(tiny_config, pool, eval_items):
    """A base evaluation computed afresh after a LoRA fine-tune (a resumed process's) equals the
    one computed before it: the merged-adapter evaluation must not merge switched-off adapters."""
    config = _fp32(tiny_config).model_copy(update={"lora": True})
    before = finetune_and_evaluate([], eval_items, config).eval_loss
    trained = finetune_and_evaluate(pool.iloc[:8], eval_items, config, seed=3).eval_loss
    warm_model(config).base_items.clear()
    after = finetune_and_evaluate([], eval_items, config).eval_loss
    assert trained != before
    assert abs(before - after) < 1e-6


def test_gradient_checkpointing_gives_the_same_run(tiny_config, pool, eval_items):
    runs = [
        finetune_and_evaluate(
            pool.iloc[:4], eval_items, _fp32(tiny_config).model_copy(update=flags), seed=2
        )
        for flags in ({"lora": False}, {"lora": False, "gradient_checkpointing": True})
    ]
    assert abs(runs[0].eval_loss - runs[1].eval_loss) < 1e-5


def test_gradient_checkpointing_is_switched_on_with_and_without_lora(tiny_config):
    for lora in (False, True):
        config = tiny_config.model_copy(update={"lora": lora, "gradient_checkpointing": True})
        modules = WarmModel(config).model.modules()
        assert any(getattr(m, "gradient_checkpointing", False) for m in modules)


def test_only_response_tokens_carry_loss(tiny_config, eval_items):
    items = eval_items.iloc[:4].to_dict("records")
    base = finetune_and_evaluate([], items, tiny_config).eval_loss
    new_instruction = [{**r, "instruction": r["instruction"] + " Thanks!"} for r in items]
    new_response = [{**r, "output": r["output"] + " Thanks!"} for r in items]
    warm = warm_model(tiny_config)
    counts = [
        sum(e.loss_tokens for e in encode_all(x, warm.tokenizer, 512))
        for x in (items, new_instruction)
    ]
    assert counts[0] == counts[1]
    assert finetune_and_evaluate([], new_response, tiny_config).eval_loss != base


def test_logits_at_response_positions_match_the_full_forward_pass(tiny_config, eval_items):
    warm = WarmModel(_fp32(tiny_config))
    encoded = encode_all(eval_items.iloc[:6].to_dict("records"), warm.tokenizer, 96)
    ids, labels = collate(encoded, warm.pad_id)
    assert warm._head is not None
    with torch.no_grad():
        fast, n_fast = warm.loss_sum(ids, labels)
        warm._head = None
        full, n_full = warm.loss_sum(ids, labels)
    assert n_fast == n_full == sum(e.loss_tokens for e in encoded)
    assert torch.allclose(fast, full, rtol=1e-5)


def test_right_padded_batches_score_like_single_examples(tiny_config, eval_items):
    """No attention mask is needed: padding after a causal sequence cannot change it."""
    warm = WarmModel(_fp32(tiny_config))
    encoded = encode_all(eval_items.iloc[:6].to_dict("records"), warm.tokenizer, 96)
    with torch.no_grad():
        batched, _ = warm.loss_sum(*collate(encoded, warm.pad_id))
        single = sum(warm.loss_sum(*collate([e], warm.pad_id))[0] for e in encoded)
    assert torch.allclose(batched, single, rtol=1e-5)


def test_test_sets_are_scored_after_fine_tuning(tiny_config, pool, eval_items):
    result = finetune_and_evaluate(
        pool.iloc[:4], eval_items, tiny_config, test_evals={"dolly": pool.iloc[4:8]}
    )
    assert set(result.test_losses) == {"dolly"}
    assert result.test_losses["dolly"] > 0 and result.test_losses["dolly"] != result.eval_loss


def test_adding_lora_prints_no_library_deprecation_noise(tiny_config):
    """peft asks transformers 5 a deprecated name; users of the demo should not see that."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        WarmModel(tiny_config.model_copy(update={"lora": True}))
    assert not [w for w in caught if "is_gradient_checkpointing" in str(w.message)]


def _reference_item_losses(warm, encoded):
    """The straightforward evaluation the fast one replaced: one item at a time, whole prompt
    recomputed, LoRA adapters unmerged, loss through `loss_sum`."""
    warm.model.eval()
    with torch.no_grad():
        return [float(warm.loss_sum(*collate([e], warm.pad_id))[0]) for e in encoded]


def test_fast_evaluation_equals_the_straightforward_one_after_fine_tuning(
    tiny_config, pool, eval_items
):
    """Shared prompt start, merged adapters and joint sets change no item's loss (fp32: within
    1e-5 relative, float summation order), and leave the weights exactly as they were."""
    from instructmining.experiments.train import evaluate_sets, train

    config = _fp32(tiny_config).model_copy(update={"lr": 2e-2})
    warm = WarmModel(config)
    train(warm, encode_all(pool.iloc[:8].to_dict("records"), warm.tokenizer, 96), config, seed=1)
    records = eval_items.iloc[:10].to_dict("records")
    sets = {  # 512 tokens: no prompt is cut, so every item keeps the template's start
        "": encode_all(records[:7], warm.tokenizer, 512),
        "other": encode_all(records[5:], warm.tokenizer, 512),  # two items in both sets
    }
    assert common_start([list(e.ids) for e in sets[""]]) >= MIN_SHARED  # the cached start runs
    before = {k: v.clone() for k, v in warm.model.state_dict().items()}
    fast = evaluate_sets(warm, sets, batch_size=4)
    assert all(torch.equal(before[k], v) for k, v in warm.model.state_dict().items())
    assert any(float(p.abs().max()) > 0 for n, p in warm.model.named_parameters() if "lora_B" in n)
    for name, encoded in sets.items():
        sums, counts = fast[name]
        assert counts == [e.loss_tokens for e in encoded]
        reference = _reference_item_losses(warm, encoded)
        assert torch.allclose(torch.tensor(sums), torch.tensor(reference), rtol=1e-5, atol=1e-5)


def test_the_base_models_evaluation_is_computed_once_and_shared(tiny_config, eval_items):
    config = _fp32(tiny_config)
    items = eval_items.iloc[:6]
    first = finetune_and_evaluate([], items, config)
    warm = warm_model(config)
    assert len(warm.base_items) == 1
    warm.base_items.clear()
    again = finetune_and_evaluate([], items, config)  # computed afresh
    cached = finetune_and_evaluate([], items, config)
    assert first.item_losses == again.item_losses == cached.item_losses
    with warm.base_weights():
        reference = _reference_item_losses(warm, warm.encode_cached(items.to_dict("records"), 96))
    assert torch.allclose(
        torch.tensor(first.item_losses[""][0]), torch.tensor(reference), rtol=1e-5
    )


def test_a_shared_prompt_start_run_once_trains_exactly_like_the_full_forward(
    tiny_config, pool, eval_items
):
    """The batch's shared start (system prompt, user header) runs once and its cache serves
    every row: loss and adapter gradients equal the full forward's, and a whole fine-tune ends
    at the same train loss (fp32, within 1e-5 relative)."""
    from instructmining.experiments.train import train

    config = _fp32(tiny_config)
    warm = WarmModel(config)
    encoded = encode_all(pool.iloc[:4].to_dict("records"), warm.tokenizer, 96)
    ids, labels = collate(encoded, warm.pad_id)
    assert warm._share_starts
    assert warm._shared_start(ids, labels[:, 1:] != -100) >= MIN_SHARED

    def loss_and_grads(share: bool):
        warm._share_starts = share
        warm.reset(5)
        for p in warm.trainable():  # the adapters' B starts at 0: move it so A gets gradients
            p.data.add_(0.05 * torch.randn_like(p))
        loss, n = warm.loss_sum(ids, labels)
        loss.backward()
        grads = [p.grad.clone() for p in warm.trainable()]
        for p in warm.trainable():
            p.grad = None
        return loss.detach(), n, grads

    full, shared = loss_and_grads(False), loss_and_grads(True)
    assert full[1] == shared[1]
    assert torch.allclose(full[0], shared[0], rtol=1e-5)
    for a, b in zip(full[2], shared[2], strict=True):  # float summation order: ~1e-6 here
        assert float((a - b).norm()) <= 1e-5 * float(a.norm())

    runs = {}
    for share in (False, True):
        warm._share_starts = share
        runs[share] = train(warm, encode_all(pool.iloc[:8].to_dict("records"), warm.tokenizer, 96),
                            config, seed=2)  # fmt: skip
    assert runs[False][1] == runs[True][1]
    assert abs(runs[False][0] - runs[True][0]) <= 1e-5 * abs(runs[False][0])
