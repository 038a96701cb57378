"""`instructmining fit WS/ -o WS/rule.json`: fit the quality rule and print how far to trust it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from instructmining.cli.app import app
from instructmining.cli.options import ThreadsOpt
from instructmining.pipeline.config import FitConfig, default_of
from instructmining.report.console import console, evidence_lines, print_table

if TYPE_CHECKING:
    from instructmining.rule import FitResult


def _report(result: FitResult, table_info: dict) -> None:
    s = result.stats
    console.print(f"[bold]target[/]: {result.rule.target.explain()}", highlight=False)
    if table_info:
        console.print(
            f"[bold]{table_info.get('n_subsets')} subsets[/] from {table_info.get('n_runs')} "
            f"finished runs; evaluation set {table_info.get('eval_hash') or 'unrecorded'}"
        )
        if table_info.get("skipped_columns"):
            console.print(
                f"skipped (missing values or constant): {', '.join(table_info['skipped_columns'])}"
            )
    if "between_subset_sd" in s:
        seed = f"{s['seed_sd']:.4g}" if "seed_sd" in s else "unmeasured (one seed per subset)"
        console.print(f"eval loss sd between subsets {s['between_subset_sd']:.4g}; seed sd {seed}")
    top = result.combinations.head(8)[["rank", "indicators", "r2", "adj_r2", "cv_r2", "max_p"]]
    print_table(
        top,
        f"Indicator sets: {s['n_combinations']} combinations of {s['n_candidates']} candidate "
        f"indicators tried, ranked by {s['criterion']} ({s['cv']} CV)",
        {"r2": ".3f", "adj_r2": ".3f", "cv_r2": ".3f", "max_p": ".2g"},
    )
    print_table(
        result.coefficients,
        f"Coefficients (OLS, target {result.rule.target.describe()}; standardised = per sd of "
        "the indicator)",
        {"raw": ".4g", "standardised": ".4g", "se": ".3g", "p": ".2g", "vif": ".2f"},
    )
    console.print(
        f"intercept {s['intercept']:.4g} (se {s['intercept_se']:.3g}); R² {s['r2']:.3f}, "
        f"adjusted R² {s['adj_r2']:.3f}, CV R² {s['cv_r2']:.3f}; F {s['f']:.3g} "
        f"(p {s['f_p']:.2g}; Bonferroni over {s['n_combinations']} sets: "
        f"{s['f_p_bonferroni']:.2g}); "
        f"AIC {s['aic']:.2f}, BIC {s['bic']:.2f}"
    )
    print_table(result.ablation, "Ablation", {"r2": ".3f", "adj_r2": ".3f", "cv_r2": ".3f"})
    print_table(
        result.models,
        f"Models on the chosen indicators ({s['cv']} CV; saved: {result.rule.model})",
        {"cv_r2": ".3f", "r2": ".3f"},
    )
    for line in evidence_lines(result.rule.info):
        console.print(line, soft_wrap=True)


@app.command("fit", renamed={"--jobs": "--threads"})
def fit(
    workspace: Annotated[Path, typer.Argument(help="Workspace with runs.parquet and indicators.")],
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Rule file (default: WS/rule.json).")
    ] = None,
    criterion: Annotated[
        str,
        typer.Option(
            help="Rank indicator sets by cv (cross-validated R²), cv-1se (fewest indicators "
            "within one standard error of the best) or paper."
        ),
    ] = default_of(FitConfig, "criterion"),
    model: Annotated[str, typer.Option(help="ols, ridge, lasso or gbm.")] = default_of(
        FitConfig, "model"
    ),
    max_indicators: Annotated[int, typer.Option(help="Largest indicator set tried.")] = default_of(
        FitConfig, "max_indicators"
    ),
    folds: Annotated[int, typer.Option(help="Cross-validation folds.")] = default_of(
        FitConfig, "folds"
    ),
    indicators: Annotated[
        str | None, typer.Option(help="Comma-separated candidate columns (default: all).")
    ] = None,
    exact: Annotated[
        bool, typer.Option("--exact", help="Use all of --indicators, without a search.")
    ] = False,
    config_hash: Annotated[
        str | None, typer.Option(help="Use only runs of this training config.")
    ] = None,
    eval_hash: Annotated[
        str | None, typer.Option(help="Use only runs on this evaluation set.")
    ] = None,
    target: Annotated[
        str,
        typer.Option(
            help="What the rule predicts: fit (log loss on the fit set), NAME (a set recorded "
            "with --test-eval NAME=FILE), mean (weighted mean of the sets' standardised log "
            "losses) or auto (mean where two sets disagree, else fit)."
        ),
    ] = "fit",
    weights: Annotated[
        str | None, typer.Option(help="Weights of a mean target: NAME=W,... (default: equal).")
    ] = None,
    permutations: Annotated[
        int, typer.Option(help="Shuffles of the losses for the permutation test (0: none).")
    ] = 200,
    threads: ThreadsOpt = None,
) -> None:
    """Fit log eval loss on subset-mean indicators and write the rule with its statistics."""
    from instructmining.errors import UserError
    from instructmining.paths import refuse_overwrite, workspace_tables
    from instructmining.rule import fit_stage
    from instructmining.rule.sets_text import sets_text
    from instructmining.rule.targets import parse_weights
    from instructmining.rule.verdict import rule_verdict
    from instructmining.threads import start_thread_budget
    from instructmining.workspace import Workspace

    names = [c.strip() for c in indicators.split(",") if c.strip()] if indicators else None
    if exact and not names:
        raise UserError("--exact needs --indicators")
    ws = Workspace(workspace)
    output = output or ws.rule
    refuse_overwrite([output], workspace_tables(workspace, writes=[ws.rule]))
    budget = start_thread_budget(threads)  # the permutation test's workers share it
    with ws.lock():
        result, data = fit_stage(
            workspace,
            output,
            config_hash=config_hash,
            eval_hash=eval_hash,
            target=target,
            weights=parse_weights(weights),
            indicators=names,
            criterion=criterion,
            model=model,
            max_indicators=max_indicators,
            folds=folds,
            exact=exact,
            permutations=permutations,
            jobs=budget.threads,
        )
    _report(result, data.provenance)
    console.print(sets_text(result.rule.info), highlight=False, markup=False)
    console.print(f"rule ({result.rule.model}): {result.rule.describe()}")
    console.print(f"wrote {output}")
    console.print(f"[bold]verdict:[/] {rule_verdict(result.rule.info)}", soft_wrap=True)
