"""A schedule under which nothing is learned is refused; a summary of identical losses says so."""

from __future__ import annotations

import pandas as pd
import pytest

from instructmining.errors import UserError
from instructmining.experiments import preset, summarize
from instructmining.experiments.config import check_schedule


def test_only_step_in_the_warm_up_is_refused():
    with pytest.raises(UserError, match="one optimizer step, and warm-up 0.03 rounds up to it"):
        check_schedule(8, preset("cpu-small"))  # 8 examples at batch 8: one step, at lr 0


@pytest.mark.parametrize(
    "settings",
    [{"warmup": 0.0}, {"batch_size": 4}, {"epochs": 2}, {"schedule": "constant", "warmup": 0.0}],
)
def test_schedules_with_a_step_at_a_positive_lr_pass(settings):
    check_schedule(8, preset("cpu-small", **settings))


def test_quick_demo_settings_take_more_than_one_step():
    from importlib import resources

    from instructmining.pipeline.config import load_config

    with resources.as_file(resources.files("instructmining.demo") / "demo-quick.yaml") as path:
        config, _ = load_config(path)
    exp = config.experiments
    check_schedule(config.sampling.size, preset(exp.preset, **exp.overrides))


def test_no_spread_and_no_noise_reads_nothing_was_learned():
    runs = pd.DataFrame(
        {
            "subset_id": ["__base__", "s0", "s0", "s1"],
            "seed": [0, 0, 1, 0],
            "eval_loss": [3.024196] * 4,
            "status": ["ok"] * 4,
        }
    )
    text = summarize(runs)
    assert "no spread and no noise: nothing was learned" in text
    assert "inf" not in text
