"""`instructmining refine WS --rounds R --n N`: the closed loop over `refine_stage`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from instructmining.cli.app import app
from instructmining.cli.options import LOCAL_RUN, RunFlags
from instructmining.report.console import console, print_table
from instructmining.threads import start_thread_budget
from instructmining.workspace import Workspace


@app.command("refine")
def refine(
    workspace: Annotated[Path, typer.Argument(help="Workspace with runs and a fitted rule.")],
    rounds: Annotated[int, typer.Option("--rounds", help="Refine rounds in all (resumable).")],
    n: Annotated[int, typer.Option("--n", help="Examples per selection.")],
    execution: RunFlags = LOCAL_RUN,
) -> None:
    """Select the best N inside the evidence, fine-tune it, refit; repeat (docs/selection.md).

    Each round adds one subset (refine<k>) to the workspace's runs and records predicted
    against measured log loss in WS/refine.parquet; it stops early once they agree within the
    seed noise. A killed round resumes; no finished fine-tune is redone."""
    from instructmining.distributed.options import executor_from_options
    from instructmining.selection.refine import check_refine, refine_stage

    ws = Workspace(workspace)
    check_refine(ws, rounds, n)
    runner = executor_from_options(execution.executor, execution.ray_address)
    start_thread_budget(execution.threads)
    with ws.lock():
        done = refine_stage(
            ws, rounds, n, executor=runner, say=lambda s: console.print(s, highlight=False)
        )
    shown = done.table[
        ["round", "subset_id", "predicted", "measured", "seed_noise", "agree", "moved", "distance"]
    ]
    print_table(
        shown,
        f"Refine rounds ({len(shown)})",
        {"predicted": ".4f", "measured": ".4f", "seed_noise": ".4f", "moved": ".0%"},
    )
    console.print(f"refine stops: {done.reason}", highlight=False)
    console.print(f"wrote {ws.refine}")
