"""Design rounds: add subsets, run them, refit, until the rule's CV R² stops improving or the
run budget is spent.

Each round is one row of WS/rounds.parquet, written when its subsets are added (`designed`)
and again when its fit is done (`fitted`), and each round's rule is kept as
WS/rules/round<k>.json; a rerun after a kill finishes the last designed round without adding
its subsets twice.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from instructmining.progress import console
from instructmining.sampling.sequential import add_subsets
from instructmining.sampling.show import print_figures
from instructmining.storage import atomic_path, read_parquet, write_parquet
from instructmining.workspace import Workspace

COLUMNS = ["round", "status", "subsets", "runs", "cv_r2", "rule"]


def run_rounds(
    workspace: Path,
    rounds: int,
    add: int,
    experiment: Callable[[], None],
    fit: Callable[[], None],
    criterion: str = "d",
    max_runs: int | None = None,
    min_gain: float = 0.0,
) -> pd.DataFrame:
    """Rounds 2..`rounds` after the first design's fit; `experiment` runs pending subsets and
    `fit` refits WS/rule.json; returns the rounds table."""
    ws = Workspace(Path(workspace))
    path = ws.rounds
    history = read_parquet(path) if path.exists() else pd.DataFrame(columns=COLUMNS)
    if history.empty:  # round 1 is the first design, fitted by the fit stage
        history = _record(ws, path, history, 1, "fitted", _cv_r2(ws))
    while True:
        last = history.iloc[-1]
        number = int(last["round"])
        if last["status"] == "fitted":
            reason = _stop(history, rounds, add, max_runs, _runs(ws), min_gain)
            if reason:
                console.print(f"design rounds stop after round {number}: {reason}")
                return history
            number += 1
            added = add_subsets(ws.root, add, criterion)
            console.print(f"round {number}: added {', '.join(added.new_ids)}")
            print_figures(added.design.info)
            history = _record(ws, path, history, number, "designed", None)
        experiment()
        fit()
        history = _record(ws, path, history.iloc[:-1], number, "fitted", _cv_r2(ws))


def _stop(
    history: pd.DataFrame,
    rounds: int,
    add: int,
    max_runs: int | None,
    runs: int,
    min_gain: float,
) -> str | None:
    number = int(history["round"].iloc[-1])
    if number >= rounds:
        return f"{rounds} rounds done"
    if max_runs is not None and runs + add > max_runs:
        return f"{runs} runs done; {add} more would pass the budget of {max_runs}"
    scores = history["cv_r2"].astype(float).tolist()
    if len(scores) > 1 and not scores[-1] > max(scores[:-1]) + min_gain:
        return f"CV R² stopped improving ({scores[-1]:.3f}, best before {max(scores[:-1]):.3f})"
    return None


def _record(
    ws: Workspace, path: Path, history: pd.DataFrame, number: int, status: str, cv_r2
) -> pd.DataFrame:
    rule = None
    if status == "fitted" and ws.rule.exists():
        kept = ws.round_rules / f"round{number}.json"
        with atomic_path(kept) as tmp:
            shutil.copyfile(ws.rule, tmp)
        rule = str(kept.relative_to(ws.root))
    subsets = read_parquet(ws.subsets, required=["subset_id"])["subset_id"].nunique()
    row = {
        "round": number,
        "status": status,
        "subsets": int(subsets),
        "runs": _runs(ws),
        "cv_r2": float("nan") if cv_r2 is None else float(cv_r2),
        "rule": rule,
    }
    table = pd.concat([history, pd.DataFrame([row])], ignore_index=True)
    table = table.astype({"round": "int64", "subsets": "int64", "runs": "int64", "cv_r2": float})
    write_parquet(table[COLUMNS], path)
    return table[COLUMNS]


def _runs(ws: Workspace) -> int:
    """Finished fine-tuning runs of the current subsets (the base model's run not counted)."""
    if not ws.runs.exists():
        return 0
    runs = read_parquet(ws.runs, required=["subset_id", "status"])
    return int(((runs["status"] == "ok") & (runs["subset_id"] != "__base__")).sum())


def _cv_r2(ws: Workspace) -> float:
    from instructmining.rule import load_rule

    return float(load_rule(ws.rule).info.get("fit", {}).get("cv_r2", float("nan")))
