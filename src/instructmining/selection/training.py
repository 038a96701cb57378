"""Search and compare on a workspace, training selections through the experiments stage.

Runs go to their own tables (search_runs.parquet, compare_runs.parquet) so they never enter the
runs a rule is fitted on; each call appends to them, so they hold every trial's and every
seed's selection (the evidence behind search.parquet and compare_summary.parquet); the
experiments stage skips a (subset, seed, config, evaluation set) it has already finished, so an
interrupted search or comparison resumes where it stopped.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from instructmining.data.pool import read_pool
from instructmining.errors import UserError, param
from instructmining.experiments.holdout import HOLDOUT
from instructmining.rule.model import Rule
from instructmining.selection.compare import (
    Comparison,
    Evaluate,
    Job,
    compare_selections,
    subset_name,
)
from instructmining.selection.filters import SelectFilters, candidates, rank_pool
from instructmining.selection.search import Objective, search_size
from instructmining.selection.select import rule_choice, score_pool, tested_subsets
from instructmining.selection.selectors import RULE_TOP, get_selector
from instructmining.storage import read_parquet, write_parquet
from instructmining.workspace import Workspace

TEST_EVAL = "test"


@dataclass(frozen=True)
class Settings:
    """How selections are trained and evaluated."""

    eval_file: Path
    config: Any  # ExperimentConfig
    test_eval_file: Path | None = None
    test_evals: dict[str, Path] | None = None  # every recorded test set (held-out items too)


def experiment_settings(
    workspace: Workspace | Path, eval_file: Path | None = None, preset_name: str | None = None
) -> Settings:
    """Evaluation files and fine-tuning config: given ones first, then those recorded in the
    workspace's experiment.json (the pipeline writes it), then the cpu-small preset."""
    from instructmining.experiments import preset

    ws = Workspace.of(workspace)
    recorded: dict[str, Any] = {}
    saved = ws.experiment
    if saved.exists():
        try:
            recorded = json.loads(saved.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise UserError(f"{saved}: not readable JSON ({exc})") from exc
    if eval_file is None:
        if not recorded.get("eval_file"):
            raise UserError(
                f"{workspace}: no evaluation set recorded (experiment.json); "
                f"pass {param('eval_file')}"
            )
        eval_file = ws.resolve(recorded["eval_file"])
    if not Path(eval_file).is_file():
        raise UserError(f"{eval_file}: no such evaluation file")
    if preset_name is not None or not isinstance(recorded.get("config"), dict):
        config = preset(preset_name or "cpu-small")
    else:
        config = preset("cpu-small", **recorded["config"])
    tests = {k: ws.resolve(v) for k, v in (recorded.get("test_eval_files") or {}).items()}
    first = next((p for k, p in tests.items() if k != HOLDOUT), None)
    return Settings(Path(eval_file), config, first, tests)


def train_jobs(
    workspace: Workspace | Path,
    jobs: list[Job],
    eval_file: Path,
    config: Any,
    runs_path: Path,
    test_evals: dict[str, Path] | None = None,
    progress: bool = True,
    executor: Any = None,
    items: list[pd.DataFrame] | None = None,
    pool: pd.DataFrame | None = None,
) -> list[dict[str, float]]:
    """Fine-tune every job (one experiments call per seed); eval_loss (NaN if the run failed)
    and each test_loss__<name> per job, in order. Each seed's per-item losses (job index,
    eval_set, item_id, loss_sum, tokens) are appended to `items` when it is given. Examples'
    text comes from `pool` when given, else from the workspace's pool table."""
    from instructmining.experiments import config_hash, run_experiments
    from instructmining.experiments.records import items_path

    wanted = config_hash(config)
    results: dict[tuple[str, int], dict[str, float]] = {}
    for seed in sorted({j.seed for j in jobs}):
        mine = [j for j in jobs if j.seed == seed]
        subsets = pd.DataFrame(
            [(j.subset_id, i) for j in {j.subset_id: j for j in mine}.values() for i in j.ids],
            columns=["subset_id", "id"],
        )
        if pool is not None:
            subsets = subsets.merge(pool.drop_duplicates("id"), on="id", how="left")
        runs = run_experiments(
            workspace,
            eval_file,
            config,
            seeds=[seed],
            subsets=subsets,
            runs_path=runs_path,
            test_evals=test_evals,
            progress=progress,
            executor=executor,
            append=True,  # the table keeps the other seeds' and trials' selections
        )
        for job in mine:
            results[(job.subset_id, seed)] = _loss(runs, job.subset_id, seed, wanted)
        if items is not None:  # this seed's jobs, from the items table the call just wrote
            items.append(_job_items(read_parquet(items_path(runs_path)), jobs, seed, wanted))
    return [results[(j.subset_id, j.seed)] for j in jobs]


def _job_items(found: pd.DataFrame, jobs: list[Job], seed: int, wanted: str) -> pd.DataFrame:
    index = pd.DataFrame(
        [(i, j.subset_id, j.seed) for i, j in enumerate(jobs) if j.seed == seed],
        columns=["job", "subset_id", "seed"],
    ).astype({"subset_id": "string"})
    found = found[found["config_hash"] == wanted].astype({"subset_id": "string"})
    return index.merge(found, on=["subset_id", "seed"])


def _loss(runs: pd.DataFrame, subset_id: str, seed: int, wanted_config: str) -> dict[str, float]:
    match = runs[(runs["subset_id"] == subset_id) & (runs["seed"] == seed)]
    if "config_hash" in match.columns:
        match = match[match["config_hash"] == wanted_config]
    match = match[match["status"] == "ok"]
    if match.empty:
        return {"eval_loss": math.nan}
    row = match.iloc[-1]
    losses = {"eval_loss": float(row["eval_loss"])}
    losses.update({c: float(row[c]) for c in match.columns if c.startswith("test_loss__")})
    return losses


def search_objective(
    workspace: Workspace | Path,
    ranked: pd.DataFrame,
    eval_file: Path,
    config: Any,
    seed: int = 0,
    test_eval: Path | dict[str, Path] | None = None,
    progress: bool = True,
    executor: Any = None,
    holdout: Path | None = None,
) -> Objective:
    """Eval loss after fine-tuning on the top n of `ranked` (and the losses on the held-out
    items and on each test set, which the search reports but does not optimise: test_loss is
    the first set's, test_loss__NAME each set's)."""
    runs_path = Workspace.of(workspace).search_runs
    tests = named_test_sets(test_eval)
    given = {**tests, HOLDOUT: holdout}
    test_evals = {name: path for name, path in given.items() if path is not None} or None

    def objective(n: int) -> dict[str, float]:
        ids = tuple(ranked["id"].head(n))
        job = Job("rule", seed, subset_name(f"top{n}", ids), ids)
        found = train_jobs(
            workspace, [job], eval_file, config, runs_path, test_evals, progress, executor
        )[0]
        losses = {f"test_loss__{name}": found.get(f"test_loss__{name}", math.nan) for name in tests}
        return {
            "eval_loss": found["eval_loss"],
            "test_loss": next(iter(losses.values()), math.nan),
            "holdout_loss": found.get(f"test_loss__{HOLDOUT}", math.nan),
            **(losses if len(losses) > 1 else {}),
        }

    return objective


def named_test_sets(test_eval: Path | dict[str, Path] | None) -> dict[str, Path]:
    """Test sets by name: one file is named `test`, as `search` has always reported it."""
    if test_eval is None:
        return {}
    return dict(test_eval) if isinstance(test_eval, dict) else {TEST_EVAL: Path(test_eval)}


def compare_evaluator(
    workspace: Workspace | Path,
    eval_file: Path,
    config: Any,
    test_evals: dict[str, Path] | None = None,
    progress: bool = True,
    executor: Any = None,
    pool: pd.DataFrame | None = None,
) -> Evaluate:
    """Train comparison jobs into compare_runs.parquet; each job's loss on each item of every
    evaluation set (the fit set and every test set). With `pool` the examples' text comes from
    it, so the workspace needs no pool table."""
    runs_path = Workspace.of(workspace).compare_runs

    def evaluate(jobs: list[Job]) -> pd.DataFrame:
        items: list[pd.DataFrame] = []
        train_jobs(
            workspace,
            jobs,
            eval_file,
            config,
            runs_path,
            test_evals,
            progress,
            executor,
            items,
            pool=pool,
        )
        return pd.concat(items, ignore_index=True)

    return evaluate


def _pool_and_indicators(ws: Workspace) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    from instructmining.indicators.output import read_indicators

    pool = read_pool(ws.pool, required=["id", "source", "instruction", "output"])
    indicators = read_indicators(ws.indicators) if ws.indicators.exists() else None
    return pool, indicators


def search_stage(
    ws: Workspace,
    rule: Rule,
    n_min: int,
    n_max: int | None,
    trials: int,
    time_budget: float | None = None,
    eval_file: Path | None = None,
    test_eval: Path | dict[str, Path] | None = None,
    seed: int = 0,
    preset_name: str | None = None,
    options: Any = None,
    progress: bool = True,
    executor: Any = None,
) -> pd.DataFrame:
    """BlendSearch over n on the workspace pool; trials saved to search.parquet as they finish.
    The caller holds the workspace lock (`search_workspace` and the pipeline do).

    `test_eval` (a file, or files by name; default: the workspace's recorded test set) is
    reported for every trial, not optimised: the search's own eval loss is optimistic for the n
    it picks."""
    for path in named_test_sets(test_eval).values():
        if not Path(path).is_file():
            raise UserError(f"{path}: no such evaluation file")
    pool, indicators = _pool_and_indicators(ws)
    n_max = len(pool) if n_max is None else n_max
    if n_max > len(pool):
        raise UserError(f"{param('n_max')} {n_max} exceeds the pool of {len(pool)} examples")
    settings = experiment_settings(ws, eval_file, preset_name)
    test_eval = test_eval or settings.test_eval_file
    ranked = score_pool(
        pool, "rule", rule=rule, indicators=indicators, options=options, cache_dir=ws.cache
    )
    objective = search_objective(
        ws,
        ranked,
        settings.eval_file,
        settings.config,
        seed,
        test_eval,
        progress,
        executor,
        (settings.test_evals or {}).get(HOLDOUT),
    )
    found = search_size(
        objective,
        n_min,
        n_max,
        trials,
        time_budget=time_budget,
        seed=seed,
        progress=progress,
        on_trial=lambda so_far: write_parquet(so_far, ws.search),
    )
    write_parquet(found, ws.search)
    return found


def search_workspace(workspace: Workspace | Path, *args: Any, **kwargs: Any) -> pd.DataFrame:
    """`search_stage` under the workspace's writer lock."""
    ws = Workspace.of(workspace)
    with ws.lock():
        return search_stage(ws, *args, **kwargs)


def seed_list(seeds: int | list[int]) -> list[int]:
    """Seeds given as a count (0..seeds-1) or as the list itself."""
    return list(range(seeds)) if isinstance(seeds, int) else list(seeds)


def check_baselines(
    baselines: list[str] | tuple[str, ...], knn_k: int = 6, rule: Rule | None = None
) -> list[str]:
    """Baseline selector names, checked before any training: the rule and random always run;
    `rule-top` is the rule's unconstrained top n."""
    for name in baselines:
        if name in ("rule", "random"):
            raise UserError(f"{param('baselines')}: {name} is always compared")
        if name != RULE_TOP:
            get_selector(name, rule=rule, knn_k=knn_k)  # an unknown name: "did you mean"
    return list(baselines)


def compare_stage(
    ws: Workspace,
    rule: Rule,
    n: int,
    seeds: int | list[int],
    baselines: list[str] | tuple[str, ...] = (),
    eval_file: Path | None = None,
    preset_name: str | None = None,
    options: Any = None,
    knn_k: int = 6,
    progress: bool = True,
    executor: Any = None,
    test_evals: dict[str, Path] | None = None,
    filters: SelectFilters | None = None,
) -> Comparison:
    """The rule's selection against random n and baselines over `seeds` (a count: 0..seeds-1,
    or a list), on the fit set and every recorded test set (`test_evals` adds or replaces sets
    by name); saved to compare.parquet, compare_summary.parquet and compare_items.parquet. The
    caller holds the lock.

    The rule's arm is the selection `select --rule` makes from the same pool: the best inside
    the evidence of the workspace's tested subsets (`rule_choice`, among the examples `filters`
    keep), the same examples for every seed. The baseline `rule-top` is the
    rule's unconstrained top n, an extrapolation."""
    baselines = check_baselines(baselines, knn_k, rule)
    pool, indicators = _pool_and_indicators(ws)
    settings = experiment_settings(ws, eval_file, preset_name)
    tests = {**(settings.test_evals or {}), **(test_evals or {})}
    for path in tests.values():
        if not Path(path).is_file():
            raise UserError(f"{path}: no such evaluation file")
    if n <= 0 or n > len(pool):
        raise UserError(f"{param('n')} must lie in 1..{len(pool)} (the pool size), got {n}")
    ranked, values = rank_pool(
        pool,
        "rule",
        n,
        filters,
        rule=rule,
        indicators=indicators,
        options=options,
        cache_dir=ws.cache,
        knn_k=knn_k,
    )
    choice = rule_choice(rule, ranked, values, n, tested_subsets(ws.root))
    rankings: dict[str, Any] = {"rule": choice.ids}
    for name in baselines:
        rankings[name] = (
            candidates(ranked, n)
            if name == RULE_TOP
            else score_pool(
                pool,
                name,
                rule=rule,
                indicators=indicators,
                options=options,
                cache_dir=ws.cache,
                knn_k=knn_k,
            )
        )
    evaluate = compare_evaluator(
        ws, settings.eval_file, settings.config, tests or None, progress, executor
    )
    found = compare_selections(pool, rankings, evaluate, seed_list(seeds), n)
    found.choice = choice
    write_comparison(ws, found)
    return found


def write_comparison(workspace: Workspace | Path, found: Comparison) -> None:
    """compare.parquet (runs), compare_summary.parquet and compare_items.parquet."""
    ws = Workspace.of(workspace)
    write_parquet(found.runs, ws.compare)
    write_parquet(found.summary, ws.compare_summary)
    write_parquet(found.items, ws.compare_items)


def compare_workspace(
    workspace: Workspace | Path,
    rule: Rule,
    n: int,
    seeds: int | list[int] = 5,
    baselines: list[str] | tuple[str, ...] = (),
    knn_k: int = 6,
    **kwargs: Any,
) -> Comparison:
    """`compare_stage` under the workspace's writer lock; bad baseline names fail before it."""
    ws = Workspace.of(workspace)
    check_baselines(baselines, knn_k, rule)
    with ws.lock():
        return compare_stage(ws, rule, n, seeds, baselines, knn_k=knn_k, **kwargs)
