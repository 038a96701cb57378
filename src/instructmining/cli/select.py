"""`instructmining select`, `search` and `compare`: apply a rule, size the selection, test it."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from instructmining.cli.app import app
from instructmining.cli.options import LOCAL_RUN, RULE_MODELS, ModelFlags, RunFlags, ThreadsOpt
from instructmining.experiments.arguments import (
    SEEDS_HELP,
    TEST_EVAL_HELP,
    parse_seeds,
    parse_test_evals,
)
from instructmining.pipeline.config import CompareConfig, SearchConfig, SelectConfig, default_of
from instructmining.report.console import console, print_comparison, print_table
from instructmining.selection.selectors import COMPARE_BASELINES, RULE_TOP, SELECTORS
from instructmining.threads import start_thread_budget
from instructmining.workspace import Workspace, selection_beside

if TYPE_CHECKING:
    import pandas as pd

RuleOpt = Annotated[
    str | None, typer.Option("--rule", help="rule.json, or a published rule: paper-v1, paper-v3.")
]
EvalOpt = Annotated[
    Path | None,
    typer.Option("--eval", help="Evaluation set (default: the workspace's, experiment.json)."),
]
SELECTOR_HELP = (
    f"One of {', '.join(SELECTORS)}: the rule's predicted loss, a seeded random draw, the "
    "rule's best source mixture, or one indicator, best first (lowest ppl; highest of the "
    "others, ifd >= 1 last; unieval: the mean of its three scores)."
)
BASELINES_HELP = (
    f"Comma-separated, from {', '.join(COMPARE_BASELINES)} (rule and random always run; "
    f"{RULE_TOP}: the rule's unconstrained top n, an extrapolation)."
)
RECORDED_TESTS_HELP = TEST_EVAL_HELP + " Default: the test sets the workspace recorded."
PresetOpt = Annotated[
    str | None, typer.Option("--preset", help="Fine-tuning preset (default: the workspace's).")
]


def _read_pool(path: Path) -> pd.DataFrame:
    """A pool table, or any input `pool build` accepts (saying what it dropped)."""
    from instructmining.data.pool import pool_from_file

    pool, dropped = pool_from_file(path)
    for line in dropped:
        console.print(f"{path}: {line}")
    return pool


def _rule_and_options(spec: str | None, models: ModelFlags) -> tuple[Any, Any]:
    """The rule named by --rule and the indicator options for its missing indicators."""
    from instructmining.errors import UserError
    from instructmining.selection.select import rule_and_options

    if spec is None:
        raise UserError("this command needs --rule (rule.json, paper-v1 or paper-v3)")
    return rule_and_options(spec, **models.as_kwargs())


def _warn_if_chance(rule: Any, selector: str, force: bool) -> None:
    from instructmining.rule.verdict import selection_warning

    if rule is None or selector not in ("rule", "mixture"):
        return
    message = selection_warning(rule.model, rule.info)
    if message and rule.model == "published":
        typer.echo(message)  # exempt: a note, not a warning
    elif message and not force:
        typer.echo(message, err=True)


@app.command("select")
def select(
    pool_file: Annotated[Path, typer.Argument(help="Pool table (pool.parquet) or example file.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="selected.jsonl to write.")],
    rule: RuleOpt = None,
    top: Annotated[int | None, typer.Option("--top", help="Keep the best N.")] = None,
    fraction: Annotated[float | None, typer.Option(help="Keep this share of the pool.")] = None,
    selector: Annotated[str, typer.Option(help=SELECTOR_HELP)] = "rule",
    seed: Annotated[int, typer.Option(help="Seed of the random selector.")] = 0,
    indicators_file: Annotated[
        Path | None,
        typer.Option(help="Precomputed indicators (default: indicators.parquet beside the pool)."),
    ] = None,
    models: ModelFlags = RULE_MODELS,
    threads: ThreadsOpt = None,
    length_tokenizer: Annotated[
        str | None, typer.Option(help="Tokenizer for lengths (default: the rule's, else --lm's).")
    ] = None,
    cache_dir: Annotated[
        Path | None,
        typer.Option(help="Indicator cache (default: the workspace's, else the per-user cache)."),
    ] = None,
    output_format: Annotated[
        str, typer.Option(help="alpaca, messages (chat turns) or sharegpt.")
    ] = "alpaca",
    push_to_hub: Annotated[
        str | None, typer.Option(help="Also upload the selection as dataset OWNER/NAME.")
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="No warning for a rule not better than chance.")
    ] = False,
    where: Annotated[
        str | None,
        typer.Option(
            help="Keep only examples meeting a condition on indicator columns and source, "
            "e.g. 'ifd < 1 and output_len > 20' or 'source != \"stackexchange\"' "
            "(comparisons, and/or/not, parentheses, numbers, quoted strings).",
        ),
    ] = None,
    dedup: Annotated[
        str | None,
        typer.Option(
            help="Drop duplicates inside the pool, keeping the best-ranked copy: exact "
            "(same normalised text) or minhash (near duplicates, --dedup-threshold)."
        ),
    ] = None,
    dedup_threshold: Annotated[
        float,
        typer.Option(help="MinHash Jaccard similarity (0..1) at which two examples duplicate."),
    ] = default_of(SelectConfig, "dedup_threshold"),
    diversity: Annotated[
        bool,
        typer.Option(
            "--diversity",
            help="DEITA's selection: walking in rank order, keep an example only if its cosine "
            "distance to every kept one exceeds --diversity-threshold (embedder: --embedder).",
        ),
    ] = False,
    diversity_threshold: Annotated[
        float, typer.Option(help="Cosine distance (0..2) --diversity requires between kept ones.")
    ] = default_of(SelectConfig, "diversity_threshold"),
    extrapolate: Annotated[
        bool,
        typer.Option(
            "--extrapolate",
            help="Take the rule's own top N even outside the tested subsets (labelled so).",
        ),
    ] = False,
) -> None:
    """Score every pool example and keep N of them: for a fitted rule, the selection with the
    best predicted loss inside the region its experiments covered (docs/selection.md); for
    other selectors (and with --extrapolate), the top N (lowest score first).

    Order: --where, --dedup, rank by the selector, --diversity, top N (for a rule, the
    selection inside the evidence among the examples the filters kept); --fraction is a share
    of the whole pool; docs/selection.md.
    Writes OUTPUT (each record with its score, rank and the indicator values that ranked it)
    and OUTPUT-STEM.scores.parquet (every pool example's; one a filter dropped has no rank, the
    step that `excluded` it and the example it lies `near`; the models and the rule's choice in
    its metadata). The score is the rule's predicted log loss, or the baseline's indicator
    signed so that lower ranks higher (-ifd, -reward, ppl); examples with no finite score rank
    last, score null."""
    from instructmining.data.export import check_output_format, check_push_target
    from instructmining.errors import UserError, param
    from instructmining.indicators.output import read_indicators
    from instructmining.paths import refuse_overwrite
    from instructmining.rule import load_rule
    from instructmining.selection import (
        SelectFilters,
        rank_pool,
        resolve_size,
        select_stage,
        source_counts,
    )
    from instructmining.selection.provenance import substitute_lines
    from instructmining.selection.select import (
        default_indicators,
        indicator_options,
        non_finite_note,
        selection_cache,
        tested_subsets,
    )

    indicators_file = default_indicators(pool_file.parent, indicators_file)
    rule_file = Path(rule) if rule and os.path.lexists(rule) else None
    refuse_overwrite([output, selection_beside(output)], [pool_file, rule_file, indicators_file])
    check_output_format(output_format)
    filters = SelectFilters(where, dedup, dedup_threshold, diversity, diversity_threshold)
    if push_to_hub:
        check_push_target(push_to_hub)
    if extrapolate and (selector != "rule" or not rule):
        raise UserError(f"{param('extrapolate')} applies to --selector rule with --rule only")
    start_thread_budget(threads)
    pool = _read_pool(pool_file)
    n = resolve_size(len(pool), top=top, fraction=fraction)
    loaded = load_rule(rule) if rule else None
    _warn_if_chance(loaded, selector, force)
    options = indicator_options(loaded, **models.as_kwargs(), length_tokenizer=length_tokenizer)
    ranked, values = rank_pool(
        pool,
        selector,
        n,
        filters,
        rule=loaded,
        indicators=read_indicators(indicators_file) if indicators_file else None,
        options=options,
        cache_dir=selection_cache(pool_file, cache_dir),
        seed=seed,
        knn_k=models.k or 6,
    )
    for line in substitute_lines(rule or "", ranked.attrs.get("substitutes") or []):
        console.print(line)
    folder = Workspace(output.parent)
    lock = folder.lock(target=output, tidy=not folder.pool.exists())
    by_rule = selector == "rule" and loaded is not None
    selected, table_path, choice = select_stage(
        pool,
        ranked,
        n,
        output,
        output_format,
        lock,
        rule=loaded if by_rule else None,
        values=values if by_rule else None,
        tested=tested_subsets(pool_file.parent) if by_rule else None,
        extrapolate=extrapolate,
    )
    note = non_finite_note(ranked, selected)
    if note:
        console.print(note, highlight=False)
    print_table(
        source_counts(pool, selected),
        f"Selected {len(selected)} of {len(pool)} by {selector}",
        {"selected_share": ".1%", "pool_share": ".1%"},
    )
    if by_rule:
        console.print(f"the rule's target: {loaded.target.explain()}", highlight=False)
    for line in choice.lines() if choice else []:
        console.print(line, highlight=False, soft_wrap=True)
    console.print(
        f"wrote {output} ({output_format}, with score, rank and indicator values; see "
        f"docs/selection-output.md) and {table_path}"
    )
    if push_to_hub:
        from instructmining.data.export import push_to_hub as push

        console.print(f"pushed to {push(str(output), push_to_hub)}")


@app.command("search")
def search(
    workspace: Annotated[Path, typer.Argument(help="Workspace with pool.parquet.")],
    rule: RuleOpt = None,
    n_min: Annotated[int, typer.Option("--min", help="Smallest n.")] = 100,
    n_max: Annotated[int | None, typer.Option("--max", help="Largest n (default: pool).")] = None,
    trials: Annotated[
        int, typer.Option(help="Trials (fine-tunes, fewer if n repeats).")
    ] = default_of(SearchConfig, "trials"),
    time_budget: Annotated[float | None, typer.Option(help="Stop after this many s.")] = None,
    eval_file: EvalOpt = None,
    test_eval: Annotated[list[str] | None, typer.Option(help=RECORDED_TESTS_HELP)] = None,
    seed: Annotated[int, typer.Option(help="Training seed.")] = 0,
    preset: PresetOpt = None,
    models: ModelFlags = RULE_MODELS,
    execution: RunFlags = LOCAL_RUN,
) -> None:
    """Search n with BlendSearch: eval loss after fine-tuning on the rule's top n."""
    from instructmining.distributed.options import executor_from_options
    from instructmining.paths import refuse_overwrite
    from instructmining.selection import best_trial
    from instructmining.selection.training import search_workspace

    tests = parse_test_evals(test_eval or [])
    refuse_overwrite([Workspace(workspace).search], [eval_file, *tests.values(), rule])

    runner = executor_from_options(execution.executor, execution.ray_address)
    start_thread_budget(execution.threads)
    loaded, options = _rule_and_options(rule, models)
    found = search_workspace(
        workspace,
        loaded,
        n_min,
        n_max,
        trials,
        time_budget=time_budget,
        eval_file=eval_file,
        test_eval=tests or None,
        seed=seed,
        preset_name=preset,
        options=options,
        executor=runner,
    )
    print_table(
        found,
        f"Size search ({len(found)} trials, {found['n'].nunique()} distinct n)",
        {"eval_loss": ".4f", "holdout_loss": ".4f", "test_loss": ".4f", "seconds": ".0f"}
        | {c: ".4f" for c in found.columns if c.startswith("test_loss__")},
    )
    best = best_trial(found)
    test = "" if best["test_loss"] != best["test_loss"] else f", test loss {best['test_loss']:.4f}"
    console.print(f"best n {int(best['n'])}: eval loss {best['eval_loss']:.4f}{test}")
    console.print(f"wrote {Workspace(workspace).search}")


@app.command("compare")
def compare(
    workspace: Annotated[Path, typer.Argument(help="Workspace with pool.parquet.")],
    n: Annotated[int, typer.Option("--n", help="Examples per selection.")],
    rule: RuleOpt = None,
    seeds: Annotated[str, typer.Option(help=SEEDS_HELP)] = default_of(
        CompareConfig, "seeds"
    ),  # click passes it on as text, a count
    baselines: Annotated[str, typer.Option(help=BASELINES_HELP)] = "",
    eval_file: EvalOpt = None,
    test_eval: Annotated[list[str] | None, typer.Option(help=RECORDED_TESTS_HELP)] = None,
    preset: PresetOpt = None,
    models: ModelFlags = RULE_MODELS,
    execution: RunFlags = LOCAL_RUN,
) -> None:
    """Eval loss of the rule's selection (as select --rule makes it) against random n and
    baselines."""
    from instructmining.distributed.options import executor_from_options
    from instructmining.paths import refuse_overwrite
    from instructmining.rule.verdict import rule_verdict
    from instructmining.selection.training import compare_workspace

    refuse_overwrite([Workspace(workspace).compare], [eval_file, rule])

    runner = executor_from_options(execution.executor, execution.ray_address)
    start_thread_budget(execution.threads)
    loaded, options = _rule_and_options(rule, models)
    names = [b.strip() for b in baselines.split(",") if b.strip()]
    seed_list = parse_seeds(str(seeds))
    found = compare_workspace(
        workspace,
        loaded,
        n,
        seeds=seed_list,
        baselines=names,
        eval_file=eval_file,
        preset_name=preset,
        options=options,
        knn_k=models.k or 6,
        executor=runner,
        test_evals=parse_test_evals(test_eval or []),
    )
    for line in found.choice.lines() if found.choice else []:
        console.print(line, highlight=False, soft_wrap=True)
    print_comparison(found.summary, n, len(seed_list))
    console.print(f"the rule's target: {loaded.target.explain()}", highlight=False)
    verdict = rule_verdict(loaded.info, found.summary.to_dict("records"))
    console.print(f"[bold]verdict:[/] {verdict}", soft_wrap=True)
    console.print(f"wrote {Workspace(workspace).compare}")
