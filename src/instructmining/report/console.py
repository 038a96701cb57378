"""Results printed on stdout as rich tables and plain lines, shared by the CLI and `run`.

Both print the same tables for the same stage, so the text lives here, below both, and the
pipeline never imports the CLI.
"""

from __future__ import annotations

import math
import sys
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    import pandas as pd

# Piped output keeps whole numbers in wide tables instead of truncating them to the terminal.
console = Console(width=None if sys.stdout.isatty() else 160)


def _cell(value: object, fmt: str | None) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return "-"
        return format(value, fmt or ".4g")
    if isinstance(value, tuple | list):
        return "+".join(map(str, value))
    return str(value)


def print_table(df: pd.DataFrame, title: str, formats: dict[str, str] | None = None) -> None:
    """Print a DataFrame as a rich table; `formats` maps columns to format specs."""
    formats = formats or {}
    table = Table(title=title, title_justify="left")
    for column in df.columns:
        table.add_column(str(column), justify="left" if df[column].dtype == object else "right")
    for row in df.itertuples(index=False):
        table.add_row(*(_cell(v, formats.get(c)) for c, v in zip(df.columns, row, strict=True)))
    console.print(table)


def print_comparison(summary: pd.DataFrame, n: int, seeds: int) -> None:
    """One table per evaluation set, both intervals of each difference named, and which of
    them decides the verdict."""
    from instructmining.rule.verdict import DECIDING_INTERVAL
    from instructmining.selection.compare import BOOT_METHOD
    from instructmining.selection.selectors import RULE_TOP, RULE_TOP_MEANS

    columns = ["selector", "runs", "mean", "sd", "diff", "diff_low", "diff_high", "p"]
    columns += [c for c in ("boot_low", "boot_high") if c in summary.columns]
    console.print(
        f"{n} examples per selection, {seeds} seeds; rule: the rule's selection (as `select "
        f"--rule` makes it, inside the evidence); diff = rule - selector (negative favours the "
        f"rule's selection); diff_low/diff_high: 95% CI, paired t over seeds; boot_low/boot_high: "
        f"95% CI, {BOOT_METHOD}. {DECIDING_INTERVAL}",
        soft_wrap=True,
    )
    if RULE_TOP in set(summary["selector"]):
        console.print(f"{RULE_TOP}: {RULE_TOP_MEANS}", soft_wrap=True)
    if "eval_set" not in summary.columns:
        summary = summary.assign(eval_set="fit")
    for eval_set, rows in summary.groupby("eval_set", sort=False):
        print_table(
            rows[[c for c in columns if c in rows.columns]],
            f"Eval loss on {eval_set}",
            {c: ".4f" for c in columns[2:] if c != "p"} | {"p": ".2g"},
        )


def evidence_lines(info: dict) -> list[str]:
    """Rank correlation, permutation test and the mixture baseline: is the rule better than
    chance, and better than knowing the sources?"""
    s = {k: (math.nan if v is None else v) for k, v in info.get("fit", {}).items()}
    lines = [f"CV Spearman (predicted vs measured loss, the ranking selection uses): "
             f"{s.get('cv_spearman', float('nan')):.3f}"]  # fmt: skip
    if "permutation_p" in s:
        lines.append(
            f"permutation test: p {s['permutation_p']:.3g} for CV R² {s['cv_r2']:.3f} against "
            f"{s['permutations']} shuffles of the losses, whole indicator search rerun on each "
            f"(null CV R² median {s['null_cv_r2_median']:.3f}, 95th percentile "
            f"{s['null_cv_r2_q95']:.3f})"
        )
    mixture = info.get("mixture")
    if mixture:
        best = ", ".join(f"{k} {v:.0%}" for k, v in mixture["best_mixture"].items())
        cv_r2 = math.nan if mixture.get("cv_r2") is None else mixture["cv_r2"]
        lines.append(
            f"mixture rule (ridge of log loss on source shares): CV R² {cv_r2:.3f} "
            f"beside the indicator rule's {s.get('cv_r2', float('nan')):.3f}; predicted best "
            f"mixture {best}"
        )
    return lines
