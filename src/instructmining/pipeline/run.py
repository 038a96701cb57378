"""The whole loop from one config: pool, indicators, subsets, fine-tunes, fit, select, search,
compare, report.

Each stage calls the same stage function as its CLI command (`indicators_stage`,
`design_stage`, `experiment_stage`, `fit_stage`, `rank_pool`, `select_stage`, `search_stage`,
`compare_stage`) and records a completion marker (`stages.py`), so a rerun after a kill skips
finished stages; the stages that fine-tune resume inside themselves run by run.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from instructmining.data.pool import cap_per_source
from instructmining.errors import UserError
from instructmining.experiments.holdout import HOLDOUT
from instructmining.hashing import hash_file, hash_object
from instructmining.pipeline.config import EvalSet, RunConfig
from instructmining.pipeline.stages import refresh_outputs, run_stage
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


@dataclass(frozen=True)
class Stage:
    """One step of the loop, declared once: its heading, the `Pipeline` method (and config
    section) that runs it and, for a stage computed from workspace tables alone, the files
    whose hashes with its settings key its completion marker and the files it writes. A stage
    without them keeps its own markers (pool, evaluation sets, indicators, subsets) or resumes
    run by run (experiments, design rounds)."""

    title: str
    method: str
    inputs: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()


STAGES = (
    Stage("evaluation sets", "eval_sets"),  # first: the pool is checked against them
    Stage("pool", "pool"),
    Stage("indicators", "indicators"),
    Stage("subsets", "subsets"),
    Stage("experiments", "experiments"),
    Stage("fit", "fit", ("runs", "indicators", "subsets"), ("rule",)),
    Stage("design rounds", "rounds"),
    Stage("refine", "refine"),  # resumable itself: a finished refine reruns as a no-op
    Stage("select", "select", ("rule", "pool", "indicators"), ("selected", "selection")),
    Stage("search", "search", ("rule", "pool", "indicators", "experiment"), ("search",)),
    Stage(
        "compare",
        "compare",
        ("rule", "pool", "indicators", "experiment", "subsets", "selection"),
        ("compare", "compare_summary", "compare_items"),
    ),
    Stage(
        "report",
        "report",
        ("pool", "indicators", "runs", "rule", "search", "compare", "compare_summary")
        + ("selection", "overlap", "holdout"),
        ("report",),
    ),
)


class Pipeline:
    """Runs the stages of one config in one workspace, in order, skipping finished ones."""

    def __init__(self, config: RunConfig, base_dir: Path, workspace: Path | None = None) -> None:
        from instructmining.distributed.options import executor_from_options

        self.cfg = config
        self.base = base_dir
        self.ws = Workspace(Path(workspace) if workspace else Path(config.workspace))
        self.executor = executor_from_options(config.executor, config.ray_address)

    def run(self) -> PipelineResult:
        with self.ws.lock():
            for number, stage in enumerate(STAGES, start=1):
                _stage(number, stage.title, str(self.ws.root))
                self._run(stage)
        report, comparison = self.ws.report, self.ws.compare_summary
        return PipelineResult(
            workspace=self.ws.root,
            rule=self.ws.rule,
            report=report if report.exists() else None,
            comparison=read_parquet(comparison) if comparison.exists() else None,
        )

    def _run(self, stage: Stage) -> None:
        """Run `stage`; one with declared outputs is skipped while its settings and input files
        are as they were when it finished (an absent or switched-off section always runs, to
        say so)."""
        step = getattr(self, stage.method)
        settings = getattr(self.cfg, stage.method) if stage.outputs else None
        if settings is None or settings is False:
            step()
            return
        files = [self.ws.path(key) for key in stage.inputs]
        key = hash_object(
            [
                settings.model_dump() if hasattr(settings, "model_dump") else settings,
                [hash_file(p) if p.exists() else None for p in files],
            ]
        )
        outputs = [self.ws.path(name) for name in stage.outputs]
        run_stage(self.ws.root, stage.method, key, outputs, step)

    # -- stages -------------------------------------------------------------------------------

    def pool(self) -> None:
        cfg = self.cfg.pool
        files = [(f, _paths(f.path, self.base)) for f in cfg.files]
        pool_hashes = [_files_hash(paths) for _, paths in files]  # a missing file fails first
        self.eval_sets()  # the pool is checked against them (overlap); built once per run
        evals = self._eval_tables()
        inputs = hash_object(
            [
                cfg.model_dump(),
                pool_hashes,
                self.cfg.overlap.model_dump(),
                _files_hash(list(evals.values())),
            ]
        )
        outputs = [self.ws.pool, self.ws.overlap, self.ws.overlap_pairs]
        run_stage(self.ws.root, "pool", inputs, outputs, lambda: self._build_pool(files, evals))

    def _build_pool(self, files: list, evals: dict[str, Path]) -> dict:  # noqa: ANN001
        """`files`: (PoolFile, paths) pairs; `evals`: the evaluation tables to check against."""
        from instructmining.data import build_pool, write_pool
        from instructmining.data.readers import ReadLimits

        cfg = self.cfg.pool
        frames = []
        for spec, paths in files:
            limits = ReadLimits(cfg.max_file_mb, cfg.max_record_mb)
            built = build_pool(
                paths, spec.format, spec.source, on_error=cfg.on_error, limits=limits
            )
            skipped = sum(built.problems.values()) + sum(built.dropped.values())
            console.print(
                f"{', '.join(p.name for p in paths)}: {len(built.pool)} examples"
                + (f", {skipped} skipped" if skipped else "")
            )
            frames.append(built.pool)
        pool = pd.concat(frames, ignore_index=True).drop_duplicates("id")
        pool = self._without_contamination(pool, evals)
        pool = cap_per_source(pool, cfg.per_source, cfg.seed)
        write_pool(pool, self.ws.pool)
        counts = pool["source"].value_counts().sort_index()
        per_source = ", ".join(f"{source} {n}" for source, n in counts.items())
        console.print(f"pool: {len(pool)} examples: {per_source}")
        return {"examples": len(pool)}

    def _eval_tables(self) -> dict[str, Path]:
        """Every evaluation table (the whole fit set, held-out part included, and test sets)."""
        tables = {"eval": self.ws.eval_set("eval")}
        tables.update({name: path for name, path in self.test_paths.items() if name != HOLDOUT})
        return tables

    def _without_contamination(self, pool: pd.DataFrame, evals: dict[str, Path]) -> pd.DataFrame:
        """Pool examples that repeat an evaluation item are counted in overlap.json and dropped
        (unless overlap.drop is off): training on them teaches the answers the loss measures."""
        from instructmining.data.overlap import drop_overlap, measure_overlap

        cfg = self.cfg.overlap
        found, counts = measure_overlap(pool, evals, threshold=cfg.threshold)
        write_parquet(found, self.ws.overlap_pairs)
        write_json({**counts, "threshold": cfg.threshold, "dropped": cfg.drop}, self.ws.overlap)
        console.print(
            f"overlap with evaluation sets: {counts['contaminated']} of {len(pool)} pool examples "
            f"({counts['exact']} exact, {counts['near']} near duplicates)"
            + (", dropped" if cfg.drop and counts["contaminated"] else "")
        )
        return drop_overlap(pool, found) if cfg.drop else pool

    def _eval_table(self, spec: EvalSet, name: str) -> Path:
        paths = _paths(spec.path, self.base)
        target = self.ws.eval_set(name)
        inputs = hash_object([spec.model_dump(), _files_hash(paths)])
        run_stage(self.ws.root, name, inputs, [target], lambda: self._copy_eval(spec, name, paths))
        return target

    def _copy_eval(self, spec: EvalSet, name: str, paths: list[Path]) -> dict:
        from instructmining.data import read_examples, write_pool

        target = self.ws.eval_set(name)
        table = read_examples(
            paths if len(paths) > 1 else paths[0], format=spec.format, drop_empty=False
        )
        if table.empty:
            raise UserError(f"{paths[0]}: the evaluation set has no examples with responses")
        table = table.sort_values("id").head(spec.limit or len(table))
        write_pool(table, target)
        console.print(f"{name}: {len(table)} items from {', '.join(p.name for p in paths)}")
        return {"examples": len(table)}

    def _test_sets(self) -> dict[str, tuple[EvalSet, str]]:
        """Each test set's name: (its spec, its workspace table's key)."""
        tests = self.cfg.experiments.test_eval
        if isinstance(tests, dict):  # several test sets, named by their keys
            return {name: (spec, f"test_eval_{name}") for name, spec in tests.items()}
        return {tests.name: (tests, "test_eval")} if tests is not None else {}

    @property
    def eval_path(self) -> Path:
        """What fine-tunes are fitted on: the fit set, less its held-out items where any."""
        if getattr(self, "_eval_path", None) is not None:
            return self._eval_path
        held = self.cfg.experiments.eval.holdout
        return self.ws.eval_fit if held else self.ws.eval_set("eval")

    @eval_path.setter
    def eval_path(self, path: Path) -> None:  # a caller (or test) that places the table itself
        self._eval_path = Path(path)

    @property
    def test_paths(self) -> dict[str, Path]:
        """Every set a run is also measured on, by name: test sets and the held-out items."""
        paths = {name: self.ws.eval_set(key) for name, (_, key) in self._test_sets().items()}
        if self.cfg.experiments.eval.holdout:
            paths[HOLDOUT] = self.ws.eval_holdout
        return paths

    def eval_sets(self) -> None:
        """The fit set (split into fit and held-out items) and the test sets, once per run:
        the pool stage needs them too, and a second call would only repeat their lines."""
        from instructmining.experiments.holdout import write_holdout

        if getattr(self, "_eval_sets_built", False):
            return
        self._eval_sets_built = True
        exp = self.cfg.experiments
        whole = self._eval_table(exp.eval, "eval")
        for spec, key in self._test_sets().values():
            self._eval_table(spec, key)
        if exp.eval.holdout:
            _, held_path = write_holdout(self.ws, whole, exp.eval.holdout, exp.eval.holdout_seed)
            held = len(read_parquet(held_path))
            console.print(f"held out {held} of the fit set's items (seed {exp.eval.holdout_seed})")

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
        from instructmining.indicators import indicators_stage

        cfg = self.cfg.indicators
        inputs = hash_object([cfg.model_dump(), hash_file(self.ws.pool)])

        def compute() -> dict:
            pool = read_parquet(self.ws.pool)
            options = self.indicator_options()
            runner = indicator_runner(self.cfg.executor, self.cfg.ray_address)
            _, table = indicators_stage(
                pool, cfg.names, options, self.ws.indicators, self.ws.cache, runner
            )
            return {"columns": list(table.columns[1:])}

        run_stage(self.ws.root, "indicators", inputs, [self.ws.indicators], compute)

    def subsets(self) -> None:
        from instructmining.sampling import design_stage
        from instructmining.sampling.show import print_figures

        cfg = self.cfg.sampling
        mixtures_path = self.ws.mixtures
        needs_indicators = cfg.design != "dirichlet"
        inputs = hash_object(
            [cfg.design_settings(), hash_file(self.ws.pool)]
            + ([hash_file(self.ws.indicators)] if needs_indicators else [])
        )

        def sample() -> dict:
            design, _ = design_stage(
                self.ws.subsets,
                read_parquet(self.ws.pool),
                cfg.subsets,
                cfg.size,
                cfg.seed,
                cfg.design,
                read_parquet(self.ws.indicators) if self.ws.indicators.exists() else None,
                cfg.columns,
                cfg.alpha,
                cfg.sources,
                cfg.temperature,
                cfg.mix_sources,
                cfg.candidates,
                cfg.random_share,
                cfg.max_overlap,
            )
            console.print(f"{cfg.subsets} subsets of {cfg.size} examples ({cfg.design})")
            print_figures(design.info)
            return {"subsets": cfg.subsets, "size": cfg.size}

        run_stage(self.ws.root, "subsets", inputs, [self.ws.subsets, mixtures_path], sample)

    def rounds(self) -> None:
        from instructmining.sampling.rounds import run_rounds

        cfg = self.cfg.sampling
        if cfg.rounds <= 1:
            console.print("one design round: nothing to add")
            return
        run_rounds(
            self.ws.root,
            cfg.rounds,
            cfg.add,
            self.experiments,
            self.fit,
            cfg.criterion,
            cfg.max_runs,
        )

    def refine(self) -> None:
        from instructmining.selection.refine import refine_workspace

        cfg = self.cfg.refine
        if cfg is None:
            console.print("no refine section: skipped")
            return
        fit = next(stage for stage in STAGES if stage.method == "fit")

        def experiments() -> None:
            # The round's subset was appended on purpose: the subsets stage stays done over it.
            refresh_outputs(self.ws.root, "subsets", [self.ws.subsets, self.ws.mixtures])
            self.experiments()

        done = refine_workspace(
            self.ws, cfg.rounds, cfg.n, experiments, lambda: self._run(fit), say=console.print
        )
        console.print(f"refine stops: {done.reason}", highlight=False)

    def experiment_config(self):  # noqa: ANN201 - ExperimentConfig, imported lazily
        from instructmining.experiments import preset

        exp = self.cfg.experiments
        return preset(exp.preset, **exp.overrides)

    def experiments(self) -> None:
        from instructmining.experiments import experiment_stage, summarize
        from instructmining.rule.sets_text import runs_agreement

        exp = self.cfg.experiments
        config = self.experiment_config()
        eval_path = self.eval_path
        tests = self.test_paths or None
        subset_ids = sorted(read_parquet(self.ws.subsets)["subset_id"].unique())
        repeated = {sid: exp.noise_seeds for sid in subset_ids[: exp.noise_subsets]}
        runs = experiment_stage(
            self.ws.root,
            eval_path,
            config,
            exp.seeds,
            tests,
            extra_seeds=repeated,
            executor=self.executor,
        )
        console.print(summarize(runs))
        console.print(runs_agreement(self.ws, runs), highlight=False, markup=False)

    def fit(self) -> None:
        from instructmining.experiments import config_hash
        from instructmining.report.console import evidence_lines
        from instructmining.rule import fit_stage
        from instructmining.rule.sets_text import sets_text
        from instructmining.rule.verdict import rule_verdict

        cfg = self.cfg.fit
        result, _ = fit_stage(
            self.ws,
            self.ws.rule,
            config_hash=config_hash(self.experiment_config()),
            target=cfg.target,
            weights=cfg.weights,
            criterion=cfg.criterion,
            model=cfg.model,
            max_indicators=cfg.max_indicators,
            folds=cfg.folds,
            permutations=cfg.permutations,
            jobs=2,
        )
        console.print(sets_text(result.rule.info), highlight=False, markup=False)
        console.print(f"target: {result.rule.target.explain()}", highlight=False)
        console.print(f"rule: {result.rule.describe()}")
        for line in evidence_lines(result.rule.info):
            console.print(line, soft_wrap=True)
        console.print(f"[bold]verdict:[/] {rule_verdict(result.rule.info)}", soft_wrap=True)

    def select(self) -> None:
        from instructmining.indicators.output import read_indicators
        from instructmining.selection import rank_pool, resolve_size, select_stage
        from instructmining.selection.select import tested_subsets

        cfg = self.cfg.select
        if cfg is None:
            console.print("no select section: skipped")
            return
        pool = read_parquet(self.ws.pool)
        n = resolve_size(len(pool), top=cfg.top, fraction=cfg.fraction)
        rule, options = self._rule_and_options()
        ranked, values = rank_pool(
            pool,
            "rule",
            n,
            cfg.filters(),
            rule=rule,
            indicators=read_indicators(self.ws.indicators),
            options=options,
            cache_dir=self.ws.cache,
            knn_k=self.cfg.indicators.k,
        )
        output = self.ws.selected
        _, _, choice = select_stage(
            pool,
            ranked,
            n,
            output,
            rule=rule,
            values=values,
            tested=tested_subsets(self.ws.root),
            extrapolate=cfg.extrapolate,
        )
        target = rule.target.describe()
        console.print(f"selected {n} of {len(pool)} by the rule (target: {target}): {output}")
        for line in choice.lines():
            console.print(line, highlight=False, soft_wrap=True)

    def _rule_and_options(self):  # noqa: ANN202 - (Rule, IndicatorOptions), imported lazily
        from instructmining.selection.select import rule_and_options

        cfg = self.cfg.indicators
        return rule_and_options(self.ws.rule, lm=cfg.lm, embedder=cfg.embedder, device=cfg.device)

    def search(self) -> None:
        from instructmining.selection import best_trial
        from instructmining.selection.training import search_stage

        cfg = self.cfg.search
        if cfg is None:
            console.print("no search section: skipped")
            return
        rule, options = self._rule_and_options()
        trials = search_stage(
            self.ws,
            rule,
            cfg.min,
            cfg.max,
            cfg.trials,
            time_budget=cfg.time_budget,
            seed=cfg.seed,
            options=options,
            executor=self.executor,
        )
        best = best_trial(trials)
        console.print(f"best n {int(best['n'])}: eval loss {best['eval_loss']:.4f}")

    def compare(self) -> None:
        from instructmining.report.console import print_comparison
        from instructmining.rule.verdict import rule_verdict
        from instructmining.selection.training import compare_stage

        cfg = self.cfg.compare
        if cfg is None:
            console.print("no compare section: skipped")
            return
        rule, options = self._rule_and_options()
        found = compare_stage(
            self.ws,
            rule,
            cfg.n,
            cfg.seeds,
            cfg.baselines,
            options=options,
            knn_k=self.cfg.indicators.k,
            executor=self.executor,
            filters=self.cfg.select.filters() if self.cfg.select else None,
        )
        for line in found.choice.lines():
            console.print(line, highlight=False, soft_wrap=True)
        print_comparison(found.summary, cfg.n, cfg.seeds)
        verdict = rule_verdict(rule.info, found.summary.to_dict("records"))
        console.print(f"[bold]verdict:[/] {verdict}", soft_wrap=True)

    def report(self) -> None:
        from instructmining.report import build_report

        if not self.cfg.report:
            console.print("report: off")
            return
        path = build_report(self.ws, self.ws.report)
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
