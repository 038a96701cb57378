"""Fine-tune the base model on each subset and measure its loss on an evaluation set.

The measured losses are the outcomes the quality rule is fitted to.
"""

from instructmining.experiments.config import ExperimentConfig, config_hash, preset, save_settings
from instructmining.experiments.records import RUN_COLUMNS
from instructmining.experiments.runner import RunTask, run_experiments
from instructmining.experiments.stage import experiment_stage
from instructmining.experiments.summary import summarize
from instructmining.experiments.train import RunResult, finetune_and_evaluate
from instructmining.outcomes import BASELINE, seed_noise

__all__ = [
    "BASELINE",
    "RUN_COLUMNS",
    "ExperimentConfig",
    "RunResult",
    "RunTask",
    "config_hash",
    "experiment_stage",
    "finetune_and_evaluate",
    "preset",
    "run_experiments",
    "save_settings",
    "seed_noise",
    "summarize",
]
