"""`instructmining overlap POOL --eval FILE ...`: pool examples that repeat evaluation items."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from instructmining.cli.app import app


@app.command("overlap")
def overlap(
    pool_file: Annotated[Path, typer.Argument(help="Pool table (pool.parquet) or example file.")],
    eval_files: Annotated[
        list[Path], typer.Option("--eval", help="Evaluation set (any pool format); repeatable.")
    ],
    threshold: Annotated[
        float, typer.Option(help="MinHash Jaccard similarity that counts as a near duplicate.")
    ] = 0.8,
    drop: Annotated[
        bool, typer.Option("--drop", help="Write the pool without contaminated examples (-o).")
    ] = False,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="CLEAN.parquet for --drop.")
    ] = None,
) -> None:
    """Exact (normalised) and near (MinHash over word 5-grams) duplicates of evaluation items."""
    from instructmining.cli.select import _read_pool
    from instructmining.data import write_pool
    from instructmining.data.overlap import drop_overlap, measure_overlap
    from instructmining.errors import UserError
    from instructmining.report.console import console, print_table

    if not 0 < threshold <= 1:
        raise UserError(f"--threshold must lie in (0, 1], got {threshold}")
    if drop and output is None:
        raise UserError("--drop needs -o CLEAN.parquet")
    if output is not None and not drop:
        raise UserError("-o is only written with --drop")
    if output is not None and output.resolve() in {p.resolve() for p in [pool_file, *eval_files]}:
        raise UserError(f"{output}: is an input; write the clean pool elsewhere")
    pool = _read_pool(pool_file)
    found, counts = measure_overlap(pool, {path.name: path for path in eval_files}, threshold)
    if len(found):
        print_table(found, f"{len(found)} overlapping pair(s)", {"similarity": ".3f"})
    console.print(
        f"{counts['contaminated']} of {counts['pool_examples']} pool examples repeat an "
        f"evaluation item ({counts['exact']} exact, {counts['near']} near, threshold {threshold})"
    )
    if drop:
        clean = drop_overlap(pool, found)
        write_pool(clean, output)
        console.print(f"wrote {output} ({len(clean)} examples)")
