"""The design figures as a table on the console, for `sample`, `design` and `run`."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from instructmining.progress import console
from instructmining.sampling.designs import figures_table


def print_figures(info: dict[str, Any], to: Console = console) -> None:
    """The design's D-efficiency, spread and correlation of subset means beside Dirichlet's;
    for a selections design, which subsets are random."""
    if "figures" not in info:
        why = info.get("figures_skipped", "no indicators table")
        to.print(f"design figures not computed: {why}")
        return
    figures = figures_table(info)
    table = Table(
        title=f"design figures over {', '.join(info['columns'])}",
        caption="subset means of indicators standardised by the pool's per-example sd",
    )
    for column in figures.columns:
        table.add_column(column, justify="left" if column == "figure" else "right")
    for row in figures.itertuples(index=False):
        table.add_row(row[0], *(f"{v:.3f}" for v in row[1:]))
    to.print(table)
    origins = info.get("origins")
    if origins:
        random = [sid for sid, origin in origins.items() if origin["kind"] == "random"]
        to.print(
            f"{len(origins) - len(random)} selections (top {info['size']} under a random "
            f"weighting of {', '.join(info['columns'])}) and {len(random)} random subsets: "
            f"{', '.join(random)}",
            soft_wrap=True,
        )
