"""Each stage is wired once: the CLI commands and the YAML pipeline call the shared stage
functions (`indicators_stage`, `design_stage`, `experiment_stage`, `fit_stage`, `rank_pool`,
`select_stage`, `search_stage`, `compare_stage`) rather than the steps inside them, so the
command and the pipeline cannot drift apart.

A check over the source text: no module of the CLI, nor the pipeline's runner, calls a step
that a stage function owns.
"""

from __future__ import annotations

import ast
from pathlib import Path

import instructmining

PACKAGE = Path(instructmining.__file__).parent
CALLERS = sorted((PACKAGE / "cli").glob("*.py")) + [PACKAGE / "pipeline" / "run.py"]

# step -> the stage function that calls it
STAGE_STEPS = {
    "find_overlap": "measure_overlap",
    "overlap_counts": "measure_overlap",
    "write_indicators": "indicators_stage",
    "subset_means": "indicators_stage",
    "build_design": "design_stage",
    "write_design": "design_stage",
    "run_experiments": "experiment_stage",
    "save_settings": "experiment_stage",
    "limited_eval_set": "command_eval_sets",
    "load_fit_table": "fit_stage",
    "fit_rule": "fit_stage",
    "score_pool": "rank_pool",
    "find_duplicates": "rank_pool",
    "diverse_walk": "rank_pool",
    "select_top": "select_stage",
    "write_selection": "select_stage",
    "search_size": "search_stage",
    "compare_selections": "compare_stage",
    "write_comparison": "compare_stage",
    "render_report": "build_report",
    "write_report": "build_report",
}


def _called_names(tree: ast.AST) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
            if name:
                found.append((node.lineno, name))
    return found


def test_no_cli_module_nor_the_pipeline_calls_a_stage_step() -> None:
    offenders = []
    for path in CALLERS:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        offenders += [
            f"{path.relative_to(PACKAGE)}:{line}: {name} (call {STAGE_STEPS[name]})"
            for line, name in _called_names(tree)
            if name in STAGE_STEPS
        ]
    assert offenders == []


def test_the_check_sees_a_step_called_directly() -> None:
    tree = ast.parse("def f(x):\n    run_experiments(x)\n    rule.fit_rule(x)\n")
    assert [n for _, n in _called_names(tree) if n in STAGE_STEPS] == [
        "run_experiments",
        "fit_rule",
    ]


def test_the_stage_functions_are_public() -> None:
    from instructmining.experiments import experiment_stage
    from instructmining.indicators import indicators_stage
    from instructmining.rule import fit_stage
    from instructmining.sampling import design_stage
    from instructmining.selection import select_stage
    from instructmining.selection.training import compare_stage, search_stage

    stages = (indicators_stage, design_stage, experiment_stage, fit_stage, select_stage)
    for stage in (*stages, search_stage, compare_stage):
        assert stage.__doc__
