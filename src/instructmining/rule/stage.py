"""The fit stage, shared by `instructmining fit` and the YAML `run` pipeline.

Both load the workspace's fit table, fit the rule and write rule.json the same way; each prints
its own account of the result.
"""

from __future__ import annotations

from pathlib import Path

from instructmining.rule.chance import N_PERMUTATIONS
from instructmining.rule.fit import FitResult, fit_rule
from instructmining.rule.table import FitTable, load_fit_table
from instructmining.storage import write_json
from instructmining.workspace import Workspace


def fit_stage(
    workspace: Workspace | Path,
    output: Path | None = None,
    config_hash: str | None = None,
    eval_hash: str | None = None,
    target: str = "fit",
    weights: dict[str, float] | None = None,
    indicators: list[str] | None = None,
    criterion: str = "cv",
    model: str = "ols",
    max_indicators: int = 3,
    folds: int = 5,
    exact: bool = False,
    permutations: int = N_PERMUTATIONS,
    jobs: int = 2,
) -> tuple[FitResult, FitTable]:
    """Fit the rule on the workspace's runs (those of `config_hash` and `eval_hash` when given)
    and write it to `output` (default WS/rule.json), named after the file.

    Returns the fit and the table it was fitted on: the command prints the table's provenance
    (runs, subsets, skipped columns). The caller holds the workspace lock."""
    ws = Workspace.of(workspace)
    output = Path(output) if output is not None else ws.rule
    data = load_fit_table(
        ws.root, config_hash=config_hash, eval_hash=eval_hash, target=target, weights=weights
    )
    result = fit_rule(
        data,
        indicators=indicators,
        criterion=criterion,
        model=model,
        max_indicators=max_indicators,
        folds=folds,
        exact=exact,
        name=output.stem,
        permutations=permutations,
        jobs=jobs,
        cache_dir=ws.cache,
    )
    # How it was fitted, so `refine` refits the same way after adding a subset.
    result.rule.info["fit_settings"] = {
        "config_hash": config_hash,
        "eval_hash": eval_hash,
        "target": target,
        "weights": weights,
        "indicators": indicators,
        "criterion": criterion,
        "model": model,
        "max_indicators": max_indicators,
        "folds": folds,
        "exact": exact,
        "permutations": permutations,
    }
    write_json(result.rule.to_dict(), output)
    return result, data
