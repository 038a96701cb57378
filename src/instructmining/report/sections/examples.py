"""The examples the rule ranks best and worst, so a reader can judge the rule by eye."""

from __future__ import annotations

import pandas as pd

from instructmining.report.html import note, table
from instructmining.report.tables import ReportInputs
from instructmining.workspace import FILES

SHOWN = 10
MAX_CHARS = 240


def truncate(text: object, limit: int = MAX_CHARS) -> str:
    text = "" if text is None or (isinstance(text, float) and pd.isna(text)) else str(text)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def render_examples(inputs: ReportInputs) -> str:
    missing = inputs.missing("selection")
    if missing:
        return missing
    ranked = inputs.tables["selection"].sort_values("rank")
    ranked = ranked[ranked["rank"].notna()]  # a filter's dropped examples have no rank
    if ranked.empty:
        return note(f"{FILES['selection'].name} is empty")
    text = ""
    if inputs.has("pool"):
        pool = inputs.tables["pool"]
        columns = [c for c in ("id", "source", "instruction", "input", "output") if c in pool]
        ranked = ranked.merge(pool[columns], on="id", how="left")
    else:
        text += inputs.missing("pool")
    text += (
        f"<p>{len(ranked)} examples ranked by the rule's score (predicted log loss: lower is "
        f"better). Texts are cut at {MAX_CHARS} characters.</p>"
    )
    top = ranked.head(SHOWN)
    bottom = ranked.tail(min(SHOWN, max(len(ranked) - SHOWN, 0)))
    text += f"<h3>Top {len(top)}</h3>" + _table(top)
    if len(bottom):
        text += f"<h3>Bottom {len(bottom)}</h3>" + _table(bottom)
    return text


def _table(rows: pd.DataFrame) -> str:
    header = ["rank", "score", "source", "instruction", "output"]
    body = []
    for _, r in rows.iterrows():
        prompt = r.get("instruction")
        if isinstance(r.get("input"), str) and r["input"].strip():
            prompt = f"{prompt}\n{r['input']}"
        body.append([
            r["rank"], r["score"], r.get("source", "–"),
            truncate(prompt) if "instruction" in r else str(r["id"]),
            truncate(r.get("output")),
        ])  # fmt: skip
    return table(body, header, text_cols=(3, 4))
