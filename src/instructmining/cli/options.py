"""Option blocks several commands share, declared once.

A command parameter whose default is a block (`models: ModelFlags = ModelFlags()`) shows up as
the block's options (--lm, --reward-model, ...) in that place; the command receives the block.
`select`, `search`, `compare` and `indicators` name their models this way, so a model flag is
spelt and explained once, and `CommandLine.command` (cli/app.py) expands every block.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
from collections.abc import Callable
from typing import Annotated, Any

import typer

from instructmining.distributed.options import EXECUTOR_HELP, RAY_ADDRESS_HELP
from instructmining.threads import THREADS_HELP

ThreadsOpt = Annotated[int | None, typer.Option(help=THREADS_HELP)]


@dataclasses.dataclass(frozen=True)
class ModelFlags:
    """The models that compute indicators; None leaves the choice to the rule or the default.
    Every indicator's model is here, so any indicator can be a selector (`--selector judge`)."""

    lm: Annotated[str | None, typer.Option(help="Causal LM for ppl, ifd (and lengths).")] = None
    reward_model: Annotated[str | None, typer.Option(help="Reward model.")] = None
    unieval_model: Annotated[str | None, typer.Option(help="UniEval dialogue T5 model.")] = None
    judge_model: Annotated[
        str | None, typer.Option(help="Instruct LM that rates each example 1-5 (judge).")
    ] = None
    embedder: Annotated[str | None, typer.Option(help="Sentence embedder for knn.")] = None
    k: Annotated[int | None, typer.Option("--k", help="Neighbour rank for knn{k}.")] = None
    device: Annotated[str | None, typer.Option(help="auto, cpu or cuda.")] = None

    def as_kwargs(self) -> dict[str, Any]:
        """As keyword arguments of `IndicatorOptions`, or of `indicator_options`, which keeps
        the rule's model where a value is None."""
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class RunFlags:
    """Where the work runs: this machine or a Ray cluster, and how many threads it may use."""

    executor: Annotated[str | None, typer.Option(help=EXECUTOR_HELP)] = "local"
    ray_address: Annotated[str | None, typer.Option(help=RAY_ADDRESS_HELP)] = None
    threads: ThreadsOpt = None


BLOCKS = (ModelFlags, RunFlags)
RULE_MODELS = ModelFlags()  # every model the rule's (or the default where it names none)
LOCAL_RUN = RunFlags()


def expand_blocks(command: Callable[..., Any]) -> Callable[..., Any]:
    """`command` with each block-valued parameter replaced by the block's fields (typer reads
    the signature), rebuilding the block from those fields on each call."""
    signature = inspect.signature(command, eval_str=True)
    parameters: list[inspect.Parameter] = []
    blocks: dict[str, tuple[type, list[str]]] = {}
    for parameter in signature.parameters.values():
        if not isinstance(parameter.default, BLOCKS):
            parameters.append(parameter)
            continue
        block = type(parameter.default)
        hints = inspect.get_annotations(block, eval_str=True)
        fields = [f.name for f in dataclasses.fields(block)]
        blocks[parameter.name] = (block, fields)
        parameters += [
            inspect.Parameter(
                name,
                parameter.kind,
                annotation=hints[name],
                default=getattr(parameter.default, name),
            )
            for name in fields
        ]
    if not blocks:
        return command

    @functools.wraps(command)
    def run(**values: Any) -> Any:
        for name, (block, fields) in blocks.items():
            values[name] = block(**{field: values.pop(field) for field in fields})
        return command(**values)

    run.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
    run.__annotations__ = {p.name: p.annotation for p in parameters}
    return run
