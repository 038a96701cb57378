"""The selection's place against the evidence, and the refine rounds: predicted vs measured."""

from __future__ import annotations

import json
import math

import pyarrow.parquet as pq

from instructmining.report.html import esc, fmt, note, table
from instructmining.report.tables import ReportInputs
from instructmining.selection.evidence import EXTRAPOLATION, NO_EVIDENCE
from instructmining.selection.provenance import METADATA_KEY
from instructmining.workspace import FILES, Workspace


def selection_choice(inputs: ReportInputs) -> dict | None:
    """What `select` recorded about its choice (None for a selection without a rule's)."""
    path = Workspace(inputs.root).selection
    if not path.exists():
        return None
    try:
        raw = (pq.read_schema(path).metadata or {}).get(METADATA_KEY)
        found = json.loads(raw).get("evidence") if raw else None
    except (OSError, ValueError, AttributeError):
        return None
    return found if isinstance(found, dict) else None


def render_refine(inputs: ReportInputs) -> str:
    return _selection(inputs) + _rounds(inputs)


def _selection(inputs: ReportInputs) -> str:
    choice = selection_choice(inputs)
    if choice is None:
        return note(f"{esc(FILES['selection'].name)}: no rule selection recorded yet")
    interval = choice.get("interval")
    shown = f" (95% prediction interval {fmt(interval[0])} to {fmt(interval[1])})"
    text = (
        f"<p>The selection ({fmt(choice.get('n'))} examples) is <b>{esc(choice['kind'])}</b>: "
        f"{esc(choice.get('candidate'))}; predicted {esc(choice.get('symbol', 'log L'))} "
        f"{fmt(choice.get('predicted'))}" + (shown if interval else "")
    )
    if choice["kind"] == NO_EVIDENCE:
        return (
            text
            + ".</p>"
            + note(
                "The rule records no tested subsets, so no evidence region is known: the top n was "
                "taken and may lie where the rule was never tested.",
                True,
            )
        )
    text += (
        f"; nearest tested subset {esc(choice.get('nearest'))}, {fmt(choice.get('distance'), 3)} "
        "sd away (each indicator in standard deviations over the pool).</p>"
    )
    if choice["kind"] == EXTRAPOLATION:
        where = "inside" if choice.get("inside") else "outside"
        text += note(
            f"Extrapolation: the unconstrained top n (asked for with --extrapolate); its means "
            f"lie {where} the tested subsets' convex hull.",
            not choice.get("inside"),
        )
    return text


def _rounds(inputs: ReportInputs) -> str:
    path = Workspace(inputs.root).refine
    if not path.exists():
        return note(
            f"{esc(FILES['refine'].name)}: no refine rounds yet: run "
            f"<code>{esc(FILES['refine'].written_by)}</code>"
        )
    rounds = pq.read_table(path).to_pandas()
    header = ["round", "subset", "predicted", "95% interval", "measured", "seed noise (±)"]
    header += ["agree", "moved"]
    rows = []
    for r in rounds.itertuples():
        interval = f"{fmt(r.pi_low)} to {fmt(r.pi_high)}" if math.isfinite(r.pi_low) else "–"
        agree = "–" if r.agree is None or r.agree != r.agree else ("yes" if r.agree else "no")
        moved = "first round" if not math.isfinite(r.moved) else f"{r.moved:.0%} of examples"
        rows.append(
            [r.round, r.subset_id, r.predicted, interval, r.measured, r.seed_noise, agree, moved]
        )
    return (
        f"<p>{len(rounds)} refine round(s): each fine-tunes the best selection inside the "
        "evidence and adds it to the runs; the loop stops once prediction and measurement agree "
        "within the seed noise.</p>" + table(rows, header, text_cols=(1, 3, 6, 7))
    )
