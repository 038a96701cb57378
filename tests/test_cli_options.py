"""Option blocks: declared once in cli/options.py, expanded into each command that takes one."""

from __future__ import annotations

import dataclasses
import inspect

import typer

from instructmining.cli import main  # noqa: F401  (registers every command on the app)
from instructmining.cli.app import app
from instructmining.cli.options import LOCAL_RUN, RULE_MODELS, ModelFlags, RunFlags, expand_blocks

MODEL_FLAGS = ["--lm", "--reward-model", "--unieval-model", "--embedder", "--k", "--device"]


def _options(command: str) -> dict[str, str]:
    params = typer.main.get_command(app).commands[command].params
    return {o: p.help for p in params for o in p.opts if o.startswith("--")}


def test_model_flags_are_one_declaration_in_every_command() -> None:
    commands = ("select", "search", "compare", "indicators")
    helps = {c: [_options(c)[f] for f in MODEL_FLAGS] for c in commands}
    assert all(helps[c] == helps["select"] for c in commands)
    for command in ("search", "compare", "indicators", "experiment", "run"):
        assert {"--executor", "--ray-address", "--threads"} <= set(_options(command))


def test_a_block_is_its_fields_on_the_command_line_and_one_value_in_the_call() -> None:
    received = {}

    def command(pool: str, models: ModelFlags = RULE_MODELS, execution: RunFlags = LOCAL_RUN):
        received.update(pool=pool, models=models, execution=execution)

    expanded = expand_blocks(command)
    fields = [f.name for f in dataclasses.fields(ModelFlags) + dataclasses.fields(RunFlags)]
    assert list(inspect.signature(expanded).parameters) == ["pool", *fields]
    values = {name: None for name in fields} | {"lm": "my-lm", "k": 3, "executor": "ray"}
    expanded(pool="p.parquet", **values)
    assert received == {
        "pool": "p.parquet",
        "models": ModelFlags(lm="my-lm", k=3),
        "execution": RunFlags(executor="ray"),
    }
