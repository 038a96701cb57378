"""`refine`: the closed loop that fine-tunes its own prediction.

Each round takes the best selection of n inside the rule's evidence (`selection.evidence`),
appends it to the workspace's subsets as `refine<k>`, fine-tunes it with the workspace's seeds
(the experiments stage skips every finished run), refits the rule as it was fitted, and records
the prediction against the measurement in WS/refine.parquet. The measured subset joins the
evidence, so the next round may move a little further where the rule is now tested.

The loop stops after `rounds` rounds in all (a rerun with the same number does nothing) or as
soon as a round's prediction and measurement agree within the seed noise: the rule then
predicts its own choice as well as the training noise allows, and another round would measure
noise. A row is written when the round's subset is added (`selected`) and again when it is
measured (`measured`), so a killed round resumes with its fine-tunes, never choosing again.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from instructmining.errors import UserError, param
from instructmining.outcomes import BASELINE
from instructmining.selection.evidence import NO_EVIDENCE, Choice, choose_selection
from instructmining.storage import read_parquet, write_parquet
from instructmining.workspace import Workspace

COLUMNS = [
    "round",
    "status",
    "subset_id",
    "n",
    "kind",
    "candidate",
    "predicted",
    "pi_low",
    "pi_high",
    "nearest",
    "distance",
    "measured",
    "seed_noise",
    "agree",
    "moved",
    "pool_hash",
]
PREFIX = "refine"
Z95 = 1.96


@dataclass
class Refined:
    """The refine table after this call and why the loop stopped."""

    table: pd.DataFrame
    reason: str


def check_refine(workspace: Workspace, rounds: int, n: int) -> str:
    """Refuse bad input before anything is written; returns the pool's hash."""
    from instructmining.data.pool import pool_hash

    ws = Workspace.of(workspace)
    if rounds < 1:
        raise UserError(f"{param('rounds')} must be at least 1 (got {rounds})")
    if n < 1:
        raise UserError(f"{param('n')} must be a positive number of examples (got {n})")
    if not ws.runs.exists() or _finished_runs(ws) == 0:
        raise UserError(
            f"{ws.root}: no finished runs to refine from; run `instructmining experiment` and "
            "`instructmining fit` first"
        )
    if not ws.rule.exists():
        raise UserError(f"{ws.rule}: no fitted rule; run `instructmining fit` first")
    current = pool_hash(ws.pool)
    size = len(read_parquet(ws.pool, required=["id"]))
    if n > size:
        raise UserError(f"{param('n')} {n} exceeds the pool of {size} examples")
    for recorded, where in _recorded_pool_hashes(ws):
        if recorded != current:
            raise UserError(
                f"{ws.pool}: the pool changed since {where} was written (pool hash {current}, "
                f"recorded {recorded}); its runs describe another pool: rebuild the workspace "
                "or restore the pool"
            )
    subsets = read_parquet(ws.subsets, required=["subset_id", "id"])
    pool_ids = set(read_parquet(ws.pool, required=["id"])["id"].astype(str))
    lost = ~subsets["id"].astype(str).isin(pool_ids)
    if lost.any():
        raise UserError(
            f"{ws.pool}: the pool changed since the subsets were drawn ({int(lost.sum())} subset "
            f"example(s) are no longer in it, first {subsets.loc[lost, 'id'].iloc[0]}); restore "
            "the pool"
        )
    return current


def refine_stage(
    workspace: Workspace | Any,
    rounds: int,
    n: int,
    executor: Any = None,
    say: Callable[[str], None] = print,
) -> Refined:
    """`instructmining refine` and the pipeline's refine stage: rounds whose fine-tunes use the
    workspace's recorded evaluation sets, config and seeds (experiment.json) and whose refits
    repeat the rule's recorded fit settings. The caller holds the workspace lock."""
    from instructmining.experiments.stage import experiment_stage
    from instructmining.selection.training import experiment_settings

    ws = Workspace.of(workspace)
    check_refine(ws, rounds, n)
    settings = experiment_settings(ws)
    seeds = json.loads(ws.experiment.read_text(encoding="utf-8")).get("seeds") or []
    if not seeds:
        raise UserError(f"{ws.experiment}: no seeds recorded; rerun `instructmining experiment`")

    def experiment() -> None:
        experiment_stage(
            ws, settings.eval_file, settings.config, seeds, settings.test_evals, executor=executor
        )

    return refine_workspace(ws, rounds, n, experiment, lambda: refit(ws), say)


def refit(workspace: Workspace) -> None:
    """Refit WS/rule.json with the settings it was fitted with (`fit_stage` records them)."""
    from instructmining.rule import load_rule
    from instructmining.rule.stage import fit_stage

    ws = Workspace.of(workspace)
    settings = load_rule(ws.rule).info.get("fit_settings") or {}
    fit_stage(ws, **settings)


def refine_workspace(
    workspace: Workspace | Any,
    rounds: int,
    n: int,
    experiment: Callable[[], None],
    fit: Callable[[], None],
    say: Callable[[str], None] = print,
) -> Refined:
    """Run refine rounds until `rounds` are recorded or a round's prediction agrees with its
    measurement (module doc). `experiment` fine-tunes every pending subset with the workspace's
    seeds and `fit` refits WS/rule.json; the caller holds the workspace lock."""
    ws = Workspace.of(workspace)
    current = check_refine(ws, rounds, n)
    table = read_parquet(ws.refine) if ws.refine.exists() else pd.DataFrame(columns=COLUMNS)
    while True:
        if len(table) and table["status"].iloc[-1] == "selected":
            say(f"round {int(table['round'].iloc[-1])}: resuming its fine-tunes")
        else:
            reason = _stop(table, rounds)
            if reason:
                return Refined(table, reason)
            number = len(table) + 1
            choice = _choose(ws, n, number)
            subset_id = _append(ws, choice, f"{PREFIX}{number}")
            row = _row(number, subset_id, choice, current, _moved(ws, table, choice))
            table = _write(ws, table, row)
            say(f"round {number}: {subset_id} = {choice.candidate}")
            for line in choice.lines():
                say(line)
        experiment()
        fit()
        table = _write(ws, table.iloc[:-1], _measure(ws, table.iloc[-1].to_dict()))
        last = table.iloc[-1]
        say(
            f"round {int(last['round'])}: predicted {last['predicted']:.4f}, measured "
            f"{last['measured']:.4f}, seed noise {_fmt(last['seed_noise'])}"
        )


def _stop(table: pd.DataFrame, rounds: int) -> str | None:
    if len(table) >= rounds:
        return f"{rounds} round(s) done"
    if len(table) and _agreed(table["agree"].iloc[-1]):
        k = int(table["round"].iloc[-1])
        return (
            f"round {k}'s prediction and measurement agree within the seed noise: the rule "
            "predicts its own choice as well as training noise allows; stopped early"
        )
    return None


def _choose(ws: Workspace, n: int, number: int) -> Choice:
    """The round's selection: the best inside the current rule's evidence."""
    from instructmining.indicators.output import read_indicators
    from instructmining.rule import load_rule
    from instructmining.selection.select import ensure_indicators, indicator_options

    rule = load_rule(ws.rule)
    pool = read_parquet(ws.pool, required=["id", "source"])
    values = ensure_indicators(
        pool,
        rule.indicators,
        read_indicators(ws.indicators) if ws.indicators.exists() else None,
        indicator_options(rule),
        ws.cache,
        progress=False,
    )
    tested = read_parquet(ws.subsets, required=["subset_id", "id"])
    choice = choose_selection(rule, values, n, tested=tested, seed=number)
    if choice.kind == NO_EVIDENCE:
        raise UserError(
            f"{ws.rule} records no tested subsets (fitted by an older version); rerun "
            "`instructmining fit` and then refine"
        )
    return choice


def _append(ws: Workspace, choice: Choice, subset_id: str) -> str:
    """Add the selection to subsets.parquet (with its source shares in the mixtures table and
    its means in subset_indicators.parquet where the workspace keeps one); a subset of that name
    left by a killed round (the same deterministic choice) is kept as it is."""
    from instructmining.rule.sources import source_shares

    subsets = read_parquet(ws.subsets, required=["subset_id", "id"]).astype(
        {"subset_id": str, "id": str}
    )
    if subset_id in set(subsets["subset_id"]):
        return subset_id
    new = pd.DataFrame({"subset_id": subset_id, "id": choice.ids})
    pool = read_parquet(ws.pool, required=["id", "source"])
    if ws.subset_indicators.exists():
        from instructmining.indicators import subset_means

        stored = read_parquet(ws.subset_indicators, required=["subset_id"])
        means = subset_means(read_parquet(ws.indicators, required=["id"]), new)
        write_parquet(pd.concat([stored, means], ignore_index=True), ws.subset_indicators)
    if ws.mixtures.exists():
        import pyarrow as pa
        import pyarrow.parquet as pq

        old = pq.read_table(ws.mixtures)
        shares = source_shares(new, pool).rename_axis(None, axis=1).reset_index()
        mixed = pd.concat([old.to_pandas(), shares], ignore_index=True).fillna(0.0)
        table = pa.Table.from_pandas(mixed, preserve_index=False)
        write_parquet(table.replace_schema_metadata(old.schema.metadata), ws.mixtures)
    write_parquet(pd.concat([subsets, new], ignore_index=True), ws.subsets)
    return subset_id


def _row(number: int, subset_id: str, choice: Choice, pool: str, moved: float) -> dict:
    low, high = choice.interval or (math.nan, math.nan)
    return {
        "round": number,
        "status": "selected",
        "subset_id": subset_id,
        "n": len(choice.ids),
        "kind": choice.kind,
        "candidate": choice.candidate,
        "predicted": choice.predicted,
        "pi_low": low,
        "pi_high": high,
        "nearest": choice.nearest,
        "distance": choice.distance,
        "measured": math.nan,
        "seed_noise": math.nan,
        "agree": None,
        "moved": moved,
        "pool_hash": pool,
    }


def _moved(ws: Workspace, table: pd.DataFrame, choice: Choice) -> float:
    """Share of the selection's examples that the previous round did not select (NaN in the
    first round)."""
    if table.empty:
        return math.nan
    previous = str(table["subset_id"].iloc[-1])
    subsets = read_parquet(ws.subsets, required=["subset_id", "id"]).astype(str)
    before = set(subsets.loc[subsets["subset_id"] == previous, "id"])
    return float(np.mean([i not in before for i in choice.ids]))


def _measure(ws: Workspace, row: dict) -> dict:
    """The round's measured log loss (the refitted table's target for its subset) and whether
    it agrees with the prediction within 1.96 standard errors of the seed noise."""
    from instructmining.rule import load_rule
    from instructmining.rule.table import TARGET, load_fit_table

    rule = load_rule(ws.rule)
    settings = rule.info.get("fit_settings") or {}
    data = load_fit_table(
        ws,
        config_hash=settings.get("config_hash"),
        eval_hash=settings.get("eval_hash"),
        target=settings.get("target") or "fit",
        weights=settings.get("weights"),
    )
    found = data.table[data.table["subset_id"] == row["subset_id"]]
    if found.empty:
        raise UserError(
            f"{ws.runs}: subset {row['subset_id']} has no finished run after fine-tuning; see the "
            "runs table's error column and rerun refine"
        )
    measured = found.iloc[0]
    seed_sd = (rule.info.get("fit") or {}).get("seed_sd")
    noise = math.nan
    if seed_sd is not None and math.isfinite(seed_sd):
        # Seed sd of the loss, in log units near this loss, for the mean of this subset's seeds.
        noise = Z95 * seed_sd / float(measured["eval_loss"]) / math.sqrt(measured["n_seeds"])
    value = float(measured[TARGET])
    agree = None if math.isnan(noise) else bool(abs(value - row["predicted"]) <= noise)
    return {**row, "status": "measured", "measured": value, "seed_noise": noise, "agree": agree}


def _write(ws: Workspace, table: pd.DataFrame, row: dict) -> pd.DataFrame:
    out = pd.concat([table, pd.DataFrame([row])], ignore_index=True)[COLUMNS]
    out = out.astype({"round": "int64", "n": "int64", "agree": "object"})
    for column in ("predicted", "pi_low", "pi_high", "distance", "measured", "seed_noise", "moved"):
        out[column] = out[column].astype(float)
    write_parquet(out, ws.refine)
    return out


def _finished_runs(ws: Workspace) -> int:
    runs = read_parquet(ws.runs, required=["subset_id", "eval_loss"])
    ok = runs["status"] == "ok" if "status" in runs.columns else pd.Series(True, index=runs.index)
    return int((ok & (runs["subset_id"].astype(str) != BASELINE)).sum())


def _recorded_pool_hashes(ws: Workspace) -> list[tuple[str, str]]:
    """The pool hashes the experiments (experiment.json) and earlier refine rounds recorded."""
    found = []
    if ws.experiment.exists():
        try:
            recorded = json.loads(ws.experiment.read_text(encoding="utf-8")).get("pool_hash")
        except (OSError, ValueError, AttributeError):
            recorded = None
        if recorded:
            found.append((str(recorded), ws.experiment.name))
    if ws.refine.exists():
        for value in read_parquet(ws.refine, required=["pool_hash"])["pool_hash"].dropna():
            found.append((str(value), ws.refine.name))
    return found


def _agreed(value: Any) -> bool:
    """A stored agreement flag: True, False, or missing (None or NaN: noise unmeasured)."""
    return (
        value is not None and not (isinstance(value, float) and math.isnan(value)) and bool(value)
    )


def _fmt(value: float) -> str:
    return "unmeasured (one seed per subset)" if not math.isfinite(value) else f"{value:.4f}"
