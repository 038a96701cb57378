"""The whole loop from one config: pool, indicators, subsets, fine-tunes, fit, select, search,
compare, report.

Each stage calls the same Python API as its CLI command and records a completion marker
(`stages.py`), so a rerun after a kill skips finished stages; the stages that fine-tune resume
inside themselves run by run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from instructmining.errors import UserError
from instructmining.experiments.holdout import HOLDOUT
from instructmining.hashing import hash_file, hash_object
from instructmining.pipeline.config import EvalSet, RunConfig
from instructmining.pipeline.stages import is_done, mark_done
from instructmining.progress import console
from instructmining.storage import read_parquet, write_json, write_parquet
from instructmining.workspace import Workspace


@dataclass
class PipelineResult:
    """Where the loop's main outputs are, and the headline comparison for the final message."""

    workspace: Path
    rule: Path
    report: Path | None
    comparison: pd.DataFrame | None


def _paths(spec: str | list[str], base: Path) -> list[Path]:
    items = [spec] if isinstance(spec, str) else spec
    return [p if p.is_absolute() else base / p for p in map(Path, items)]


def _files_hash(paths: list[Path]) -> list[str]:
    missing = [p for p in paths if not p.exists()]
    if missing:
        raise UserError(f"{missing[0]}: no such file")
    return [hash_file(p) for p in paths]


def _stage(number: int, name: str, text: str) -> None:
    console.rule(f"[bold]{number}. {name}[/bold]: {text}", align="left")


def _cap_per_source(pool: pd.DataFrame, per_source: int | None, seed: int) -> pd.DataFrame:
    """A seeded sample of at most `per_source` examples of each source, by id (machine-stable)."""
    if per_source is None:
        return pool
    rng = np.random.default_rng(seed)
    kept = []
    for _, group in pool.sort_values("id").groupby("source", sort=True):
        take = min(per_source, len(group))
        kept.append(group.iloc[np.sort(rng.choice(len(group), size=take, replace=False))])
    return pd.concat(kept, ignore_index=True)


class Pipeline:
    """Runs the stages of one config in one workspace, in order, skipping finished ones."""

    def __init__(self, config: RunConfig, base_dir: Path, workspace: Path | None = None) -> None:
        from instructmining.distributed.options import executor_from_options

        self.cfg = config
        self.base = base_dir
        self.ws = Workspace(Path(workspace) if workspace else Path(config.workspace))
        self.executor = executor_from_options(config.executor, config.ray_address)

    def run(self) -> PipelineResult:
        steps: list[tuple[str, Callable[[], None]]] = [
            ("evaluation sets", self.eval_sets),
            ("pool", self.pool),
            ("indicators", self.indicators),
            ("subsets", self.subsets),
            ("experiments", self.experiments),
            ("fit", self.fit),
            ("select", self.select),
            ("search", self.search),
            ("compare", self.compare),
            ("report", self.report),
        ]
        with self.ws.lock():
            for number, (name, step) in enumerate(steps, start=1):
                _stage(number, name, str(self.ws.root))
                if name in self._derived:
                    self._unless_done(name, step)
                else:
                    step()
        report = self.ws.root / "report.html"
        comparison = self.ws.root / "compare_summary.parquet"
        return PipelineResult(
            workspace=self.ws.root,
            rule=self.ws.rule,
            report=report if report.exists() else None,
            comparison=read_parquet(comparison) if comparison.exists() else None,
        )

    # Stages computed from workspace tables: skipped when their inputs and settings are unchanged.
    _derived: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
        "fit": (
            ("runs.parquet", "indicators.parquet", "subsets.parquet"),
            ("rule.json",),
        ),
        "select": (
            ("rule.json", "pool.parquet", "indicators.parquet"),
            ("selected.jsonl", "selection.parquet"),
        ),
        "search": (
            ("rule.json", "pool.parquet", "indicators.parquet", "experiment.json"),
            ("search.parquet",),
        ),
        "compare": (
            ("rule.json", "pool.parquet", "indicators.parquet", "experiment.json"),
            ("compare.parquet", "compare_summary.parquet"),
        ),
        "report": (
            ("pool.parquet", "indicators.parquet", "runs.parquet", "rule.json")
            + ("search.parquet", "compare.parquet", "compare_summary.parquet")
            + ("selection.parquet", "overlap.json"),
            ("report.html",),
        ),
    }

    def _unless_done(self, stage: str, step: Callable[[], None]) -> None:
        inputs, outputs = self._derived[stage]
        files = [self.ws.root / name for name in inputs]
        settings = getattr(self.cfg, stage)
        key = hash_object(
            [
                settings.model_dump() if hasattr(settings, "model_dump") else settings,
                [hash_file(p) if p.exists() else None for p in files],
            ]
        )
        if settings is None or settings is False:
            step()
            return
        if is_done(self.ws.root, stage, key, [self.ws.root / name for name in outputs]):
            console.print(f"up to date: {', '.join(outputs)}")
            return
        step()
        mark_done(self.ws.root, stage, key)

    # -- stages -------------------------------------------------------------------------------

    def pool(self) -> None:
        from instructmining.data import build_pool, write_pool

        cfg = self.cfg.pool
        files = [(f, _paths(f.path, self.base)) for f in cfg.files]
        evals = self._eval_tables()
        inputs = hash_object(
            [
                cfg.model_dump(),
                [_files_hash(paths) for _, paths in files],
                self.cfg.overlap.model_dump(),
                _files_hash(list(evals.values())),
            ]
        )
        if is_done(self.ws.root, "pool", inputs, [self.ws.pool]):
            console.print(f"up to date: {self.ws.pool}")
            return
        frames = []
        for spec, paths in files:
            built = build_pool(paths, format=spec.format, source=spec.source, on_error=cfg.on_error)
            skipped = sum(built.problems.values())
            console.print(
                f"{', '.join(p.name for p in paths)}: {len(built.pool)} examples"
                + (f", {skipped} skipped" if skipped else "")
            )
            frames.append(built.pool)
        pool = pd.concat(frames, ignore_index=True).drop_duplicates("id")
        pool = self._without_contamination(pool, evals)
        pool = _cap_per_source(pool, cfg.per_source, cfg.seed)
        write_pool(pool, self.ws.pool)
        mark_done(self.ws.root, "pool", inputs, examples=len(pool))
        counts = pool["source"].value_counts().sort_index()
        per_source = ", ".join(f"{source} {n}" for source, n in counts.items())
        console.print(f"pool: {len(pool)} examples: {per_source}")

    def _eval_tables(self) -> dict[str, Path]:
        """Every evaluation table (the whole fit set, held-out part included, and test sets)."""
        tables = {"eval": self.ws.root / "eval.parquet"}
        tables.update({name: path for name, path in self.test_paths.items() if name != HOLDOUT})
        return tables

    def _without_contamination(self, pool: pd.DataFrame, evals: dict[str, Path]) -> pd.DataFrame:
        """Pool examples that repeat an evaluation item are counted in overlap.json and dropped
        (unless overlap.drop is off): training on them teaches the answers the loss measures."""
        from instructmining.data import read_examples
        from instructmining.data.overlap import drop_overlap, find_overlap, overlap_counts

        cfg = self.cfg.overlap
        found = find_overlap(
            pool, {n: read_examples(p) for n, p in evals.items()}, threshold=cfg.threshold
        )
        counts = overlap_counts(pool, found)
        write_parquet(found, self.ws.root / "overlap.parquet")
        write_json(
            {**counts, "threshold": cfg.threshold, "dropped": cfg.drop},
            self.ws.root / "overlap.json",
        )
        console.print(
            f"overlap with evaluation sets: {counts['contaminated']} of {len(pool)} pool examples "
            f"({counts['exact']} exact, {counts['near']} near duplicates)"
            + (", dropped" if cfg.drop and counts["contaminated"] else "")
        )
        return drop_overlap(pool, found) if cfg.drop else pool

    def _eval_table(self, spec: EvalSet, name: str) -> Path:
        from instructmining.data import read_examples, write_pool

        paths = _paths(spec.path, self.base)
        target = self.ws.root / f"{name}.parquet"
        inputs = hash_object([spec.model_dump(), _files_hash(paths)])
        if is_done(self.ws.root, name, inputs, [target]):
            return target
        table = read_examples(paths if len(paths) > 1 else paths[0], format=spec.format)
        if table.empty:
            raise UserError(f"{paths[0]}: the evaluation set has no examples with responses")
        table = table.sort_values("id").head(spec.limit or len(table))
        write_pool(table, target)
        mark_done(self.ws.root, name, inputs, examples=len(table))
        console.print(f"{name}: {len(table)} items from {', '.join(p.name for p in paths)}")
        return target

    def eval_sets(self) -> None:
        from instructmining.experiments.holdout import write_holdout

        exp = self.cfg.experiments
        self.eval_path = self._eval_table(exp.eval, "eval")
        tests = exp.test_eval if isinstance(exp.test_eval, dict) else {"test": exp.test_eval}
        self.test_paths = {
            name: self._eval_table(spec, "test_eval" if name == "test" else f"test_eval_{name}")
            for name, spec in tests.items()
            if spec is not None
        }
        if exp.eval.holdout:
            self.eval_path, self.test_paths[HOLDOUT] = write_holdout(
                self.ws.root, self.eval_path, exp.eval.holdout, exp.eval.holdout_seed
            )
            held = len(read_parquet(self.test_paths[HOLDOUT]))
            console.print(f"held out {held} of the fit set's items (seed {exp.eval.holdout_seed})")

    @property
    def test_path(self) -> Path | None:
        """The first test set that is not the held-out part (search reports it)."""
        return next((p for n, p in self.test_paths.items() if n != HOLDOUT), None)

    def indicator_options(self):  # noqa: ANN201 - IndicatorOptions, imported lazily
        from instructmining.indicators import IndicatorOptions

        cfg = self.cfg.indicators
        models = {
            "reward_model": cfg.reward_model,
            "unieval_model": cfg.unieval_model,
            "judge_model": cfg.judge_model,
        }
        return IndicatorOptions(
            lm=cfg.lm,
            embedder=cfg.embedder,
            k=cfg.k,
            device=cfg.device,
            batch_size=cfg.batch_size,
            max_length=cfg.max_length,
            **{key: value for key, value in models.items() if value},
        )

    def indicators(self) -> None:
        from instructmining.distributed.options import indicator_runner
        from instructmining.indicators.output import write_indicators

        cfg = self.cfg.indicators
        inputs = hash_object([cfg.model_dump(), hash_file(self.ws.pool)])
        if is_done(self.ws.root, "indicators", inputs, [self.ws.indicators]):
            console.print(f"up to date: {self.ws.indicators}")
            return
        pool = read_parquet(self.ws.pool)
        options = self.indicator_options()
        runner = indicator_runner(self.cfg.executor, self.cfg.ray_address)
        table = runner(pool, cfg.names, options, self.ws.cache).table
        write_indicators(table, self.ws.indicators, cfg.names, options, pool)
        mark_done(self.ws.root, "indicators", inputs, columns=list(table.columns[1:]))

    def subsets(self) -> None:
        from instructmining.sampling import sample_subsets

        cfg = self.cfg.sampling
        mixtures_path = self.ws.root / "subsets_mixtures.parquet"
        inputs = hash_object([cfg.model_dump(), hash_file(self.ws.pool)])
        if is_done(self.ws.root, "subsets", inputs, [self.ws.subsets, mixtures_path]):
            console.print(f"up to date: {self.ws.subsets}")
            return
        pool = read_parquet(self.ws.pool)
        subsets, mixtures = sample_subsets(
            pool, cfg.subsets, cfg.size, cfg.seed, alpha=cfg.alpha, sources=cfg.sources
        )
        write_parquet(mixtures, mixtures_path)
        write_parquet(subsets, self.ws.subsets)
        mark_done(self.ws.root, "subsets", inputs, subsets=cfg.subsets, size=cfg.size)
        console.print(f"{cfg.subsets} subsets of {cfg.size} examples")

    def experiment_config(self):  # noqa: ANN201 - ExperimentConfig, imported lazily
        from instructmining.experiments import preset

        exp = self.cfg.experiments
        return preset(exp.preset, **exp.overrides)

    def experiments(self) -> None:
        from instructmining.experiments import run_experiments, save_settings, summarize

        exp = self.cfg.experiments
        config = self.experiment_config()
        tests = self.test_paths or None
        save_settings(self.ws.root, self.eval_path, config, exp.seeds, tests)
        subset_ids = sorted(read_parquet(self.ws.subsets)["subset_id"].unique())
        repeated = {sid: exp.noise_seeds for sid in subset_ids[: exp.noise_subsets]}
        runs = run_experiments(
            self.ws.root,
            self.eval_path,
            config,
            seeds=exp.seeds,
            test_evals=tests,
            extra_seeds=repeated,
            executor=self.executor,
        )
        console.print(summarize(runs))

    def fit(self) -> None:
        from instructmining.cli.rule import evidence_lines
        from instructmining.experiments import config_hash
        from instructmining.rule import fit_rule, load_fit_table
        from instructmining.rule.verdict import rule_verdict

        cfg = self.cfg.fit
        data = load_fit_table(self.ws.root, config_hash=config_hash(self.experiment_config()))
        result = fit_rule(
            data,
            criterion=cfg.criterion,
            model=cfg.model,
            max_indicators=cfg.max_indicators,
            folds=cfg.folds,
            name="rule",
            permutations=cfg.permutations,
            jobs=2,
            cache_dir=self.ws.cache,
        )
        write_json(result.rule.to_dict(), self.ws.rule)
        console.print(f"rule: {result.rule.describe()}")
        for line in evidence_lines(result.rule.info):
            console.print(line, soft_wrap=True)
        console.print(f"[bold]verdict:[/] {rule_verdict(result.rule.info)}", soft_wrap=True)

    def _ranking(self, selector: str, seed: int = 0) -> pd.DataFrame:
        from instructmining.rule import load_rule
        from instructmining.selection import score_pool
        from instructmining.selection.select import indicator_options

        rule = load_rule(self.ws.rule) if selector in ("rule", "mixture") else None
        cfg = self.cfg.indicators
        return score_pool(
            read_parquet(self.ws.pool),
            selector,
            rule=rule,
            indicators=read_parquet(self.ws.indicators),
            options=indicator_options(rule, lm=cfg.lm, embedder=cfg.embedder, device=cfg.device),
            cache_dir=self.ws.cache,
            seed=seed,
            knn_k=cfg.k,
        )

    def select(self) -> None:
        from instructmining.selection import resolve_size, select_top, write_selection

        cfg = self.cfg.select
        if cfg is None:
            console.print("no select section: skipped")
            return
        pool = read_parquet(self.ws.pool)
        n = resolve_size(len(pool), top=cfg.top, fraction=cfg.fraction)
        ranked = self._ranking("rule")
        output = self.ws.root / "selected.jsonl"
        write_selection(select_top(pool, ranked, n), ranked, output)
        console.print(f"selected {n} of {len(pool)}: {output}")

    def search(self) -> None:
        from instructmining.selection import best_trial, search_size
        from instructmining.selection.training import search_objective

        cfg = self.cfg.search
        if cfg is None:
            console.print("no search section: skipped")
            return
        objective = search_objective(
            self.ws.root,
            self._ranking("rule"),
            self.eval_path,
            self.experiment_config(),
            test_eval=self.test_path,
            executor=self.executor,
            holdout=self.test_paths.get(HOLDOUT),
        )
        trials = search_size(
            objective,
            cfg.min,
            cfg.max,
            cfg.trials,
            time_budget=cfg.time_budget,
            on_trial=lambda so_far: write_parquet(so_far, self.ws.search),
        )
        write_parquet(trials, self.ws.search)
        best = best_trial(trials)
        console.print(f"best n {int(best['n'])}: eval loss {best['eval_loss']:.4f}")

    def compare(self) -> None:
        from instructmining.cli.select import print_comparison
        from instructmining.rule import load_rule
        from instructmining.rule.verdict import rule_verdict
        from instructmining.selection import compare_selections
        from instructmining.selection.training import compare_evaluator, write_comparison

        cfg = self.cfg.compare
        if cfg is None:
            console.print("no compare section: skipped")
            return
        rankings = {name: self._ranking(name) for name in ["rule", *cfg.baselines]}
        evaluate = compare_evaluator(
            self.ws.root,
            self.eval_path,
            self.experiment_config(),
            self.test_paths or None,
            executor=self.executor,
        )
        found = compare_selections(
            read_parquet(self.ws.pool), rankings, evaluate, list(range(cfg.seeds)), cfg.n
        )
        write_comparison(self.ws.root, found)
        print_comparison(found.summary, cfg.n, cfg.seeds)
        intervals = found.summary.to_dict("records")
        verdict = rule_verdict(load_rule(self.ws.rule).info, intervals)
        console.print(f"[bold]verdict:[/] {verdict}", soft_wrap=True)

    def report(self) -> None:
        from instructmining.report import build_report

        if not self.cfg.report:
            console.print("report: off")
            return
        path = build_report(self.ws.root, self.ws.root / "report.html")
        console.print(f"report: {path}")


def run_pipeline(
    config_path: Path,
    workspace: Path | None = None,
    executor: str | None = None,
    ray_address: str | None = None,
) -> PipelineResult:
    """Load a YAML config and run every stage it names; executor options override the config's."""
    from instructmining.pipeline.config import load_config

    config, base = load_config(config_path)
    overrides = {"executor": executor, "ray_address": ray_address}
    config = config.model_copy(update={k: v for k, v in overrides.items() if v is not None})
    return Pipeline(config, base, workspace).run()
