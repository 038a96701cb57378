"""A real run: SmolLM2-135M-Instruct + LoRA on 16 Dolly examples, 16 SELF-INSTRUCT items."""

from __future__ import annotations

import math

import pytest

from instructmining.experiments import finetune_and_evaluate, preset


@pytest.mark.slow
def test_smollm2_lora_run_learns_its_examples(pool, eval_items):
    config = preset("cpu-small", max_length=192, epochs=2)  # 4 steps: enough to learn 16 examples
    train = pool.iloc[:16]
    base = finetune_and_evaluate([], eval_items, config, test_evals={"train": train})
    tuned = finetune_and_evaluate(train, eval_items, config, seed=0, test_evals={"train": train})
    assert 0.5 < base.eval_loss < 5 and math.isfinite(tuned.eval_loss)
    assert tuned.examples == 16 and tuned.tokens > 16 * 2 * 20
    # Its own training examples got easier: the train loss fell below the base model's loss.
    assert tuned.train_loss < base.test_losses["train"]
    assert tuned.test_losses["train"] < base.test_losses["train"] - 0.1
    assert tuned.eval_loss != base.eval_loss
