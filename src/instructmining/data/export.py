"""Selected examples in the layouts fine-tuning tools read: Alpaca, chat messages, ShareGPT.

TRL's SFTTrainer and `tokenizer.apply_chat_template` read `messages`; LLaMA-Factory and axolotl
read all three. A conversation kept whole (`pool build --all-turns`) is written turn by turn in
`messages` and `sharegpt`; `alpaca` is flat, so it gets the last exchange with the earlier turns
as a transcript in `input` (docs/conversations.md). Every record keeps its id, source, the
score and rank it was selected by and the indicator values behind them
(docs/selection-output.md).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import Any

import pandas as pd

from instructmining.errors import UserError, param

OUTPUT_FORMATS = ("alpaca", "messages", "sharegpt")
_ALPACA = ["instruction", "input", "output", "system"]
_SHAREGPT_ROLES = {"system": "system", "user": "human", "assistant": "gpt"}


def _turns(row: dict[str, Any]) -> list[dict[str, str]]:
    """The example's chat messages: a conversation kept whole as it was read, every turn in
    order; a single exchange as system (if any), user and assistant."""
    from instructmining.data.example import conversation
    from instructmining.indicators.texts import messages, user_text

    kept = conversation(row)
    if kept is not None:
        return kept
    return messages(row["system"], user_text(row["instruction"], row["input"]), row["output"])


def _extras(row: dict[str, Any]) -> dict[str, Any]:
    return {k: row[k] for k in ("id", "source", "score", "rank", "indicators") if k in row}


def finite_or_none(value: Any) -> float | None:
    """A plain float, or None (JSON null) for NaN, an infinity or a missing value: strict JSON
    has no NaN or Infinity, and `jq`, JavaScript and most parsers reject them."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def check_output_format(output_format: str) -> str:
    """`output_format` when it is one this module writes; a one-line error otherwise."""
    if output_format not in OUTPUT_FORMATS:
        raise UserError(
            f"{param('output_format')} must be one of {', '.join(OUTPUT_FORMATS)}, "
            f"not {output_format!r}"
        )
    return output_format


def export_record(row: dict[str, Any], output_format: str) -> dict[str, Any]:
    """One example (pool columns, maybe score and rank) in `output_format`."""
    if output_format == "alpaca":
        return {**_extras(row), **{k: row[k] for k in _ALPACA}}
    if output_format == "messages":
        return {**_extras(row), "messages": _turns(row)}
    if output_format == "sharegpt":
        turns = [{"from": _SHAREGPT_ROLES[t["role"]], "value": t["content"]} for t in _turns(row)]
        return {**_extras(row), "conversations": turns}
    raise UserError(
        f"{param('output_format')} must be one of {', '.join(OUTPUT_FORMATS)}, "
        f"not {output_format!r}"
    )


def export_records(
    table: pd.DataFrame,
    output_format: str = "alpaca",
    indicator_columns: Sequence[str] | None = None,
) -> Iterator[dict[str, Any]]:
    """Each row of `table` in `output_format`, with plain Python numbers; the named
    `indicator_columns` go into the record's `indicators` object. A non-finite score or
    indicator value is written as null (see docs/selection-output.md)."""
    check_output_format(output_format)
    for row in table.to_dict("records"):
        if "rank" in row:
            row["rank"] = int(row["rank"])
        if "score" in row:
            row["score"] = finite_or_none(row["score"])
        if indicator_columns is not None:
            row["indicators"] = {c: finite_or_none(row.pop(c)) for c in indicator_columns}
        yield export_record(row, output_format)


def check_push_target(repo_id: str) -> None:
    """Before any work: `OWNER/NAME`, the `datasets` library and a reachable Hub."""
    from instructmining.data.hf import require_datasets
    from instructmining.models.loader import hub_reachable

    owner, _, name = repo_id.partition("/")
    if not owner or not name or "/" in name:
        raise UserError(f"{param('push_to_hub')} takes OWNER/NAME, not {repo_id!r}")
    require_datasets()
    if not hub_reachable():
        raise UserError(f"{param('push_to_hub')} {repo_id}: the Hugging Face Hub cannot be reached")


def push_to_hub(path: str, repo_id: str, private: bool = True) -> str:
    """Upload a written selection (JSON Lines) as a private Hugging Face dataset; its URL."""
    from instructmining.data.hf import require_datasets

    check_push_target(repo_id)
    datasets = require_datasets()
    dataset = datasets.load_dataset("json", data_files=str(path), split="train")
    dataset.push_to_hub(repo_id, private=private)
    return f"https://huggingface.co/datasets/{repo_id}"
