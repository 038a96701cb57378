"""Settings have one source: YAML defaults and CLI defaults agree, allowed values come from the
registries, and bad names fail when the config loads."""

from __future__ import annotations

import inspect

import pytest

from instructmining.cli import experiment, indicators, rule, select
from instructmining.errors import UserError
from instructmining.pipeline.config import (
    CompareConfig,
    ExperimentsConfig,
    FitConfig,
    SearchConfig,
    load_config,
)
from instructmining.rule.combos import CRITERIA
from instructmining.rule.learners import MODELS

MINIMAL = "pool: {files: [{path: p.json}]}\nexperiments: {eval: {path: e.jsonl}}\n"


def default(command, name: str):  # noqa: ANN001, ANN201 - a typer command function
    return inspect.signature(command).parameters[name].default


def test_cli_and_yaml_defaults_agree() -> None:
    fit = FitConfig()
    assert default(rule.fit, "max_indicators") == fit.max_indicators
    assert default(rule.fit, "criterion") == fit.criterion
    assert default(rule.fit, "model") == fit.model
    assert default(rule.fit, "folds") == fit.folds
    assert default(select.search, "trials") == SearchConfig.model_fields["trials"].default
    assert default(select.compare, "seeds") == CompareConfig.model_fields["seeds"].default
    assert default(experiment.experiment, "preset_name") == "cpu-small"
    assert ExperimentsConfig.model_fields["preset"].default == "cpu-small"
    assert indicators.DEFAULT_NAMES == "length,mtld,ppl,ifd,knn"


@pytest.mark.parametrize("criterion", CRITERIA)
def test_every_registered_criterion_loads(tmp_path, criterion) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(MINIMAL + f"fit: {{criterion: {criterion}}}\n")
    assert load_config(path)[0].fit.criterion == criterion


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("fit: {model: forest}\n", "fit.model: Input should be " + repr(MODELS[0])),
        ("compare: {n: 4, baselines: [ifd, reward, bogus]}\n", "compare.baselines.2: Input"),
        ("compare: {n: 4, baselines: [random]}\n", "compare.baselines.0: Input should be"),
        ("compare: {n: 4, seeds: 1}\n", "compare.seeds: Input should be greater than or equal"),
        ("experiments: {eval: {path: e.jsonl}, preset: big}\n", "Input should be 'cpu-small'"),
    ],
)
def test_bad_names_fail_when_the_config_loads(tmp_path, extra, message) -> None:
    path = tmp_path / "c.yaml"
    text = MINIMAL if not extra.startswith("experiments") else MINIMAL.split("\n")[0] + "\n"
    path.write_text(text + extra)
    with pytest.raises(UserError, match=message.replace("(", r"\(").replace("[", r"\[")):
        load_config(path)
