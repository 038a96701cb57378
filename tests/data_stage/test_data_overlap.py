"""Contamination: planted exact and near duplicates are found, disjoint sets give nothing."""

from __future__ import annotations

import json

import pandas as pd

from instructmining.cli import main
from instructmining.data.overlap import drop_overlap, find_overlap
from instructmining.storage import read_parquet

LONG = (
    "Explain how a refrigerator moves heat from the cold inside to the warm kitchen, naming "
    "the compressor, the condenser coils, the expansion valve and the evaporator in order"
)


def _table(prompts, prefix):
    return pd.DataFrame(
        {
            "id": [f"{prefix}{i}" for i in range(len(prompts))],
            "source": "test",
            "instruction": prompts,
            "input": "",
            "output": "an answer",
            "system": "",
        }
    )


def _pool():
    filler = [
        f"Write a haiku about topic number {i} and the colour of {i} leaves" for i in range(30)
    ]
    planted = [
        "  what is the CAPITAL of France?? ",  # exact after normalisation
        LONG.replace("warm kitchen", "warm room"),  # near duplicate
    ]
    return _table(filler + planted, "p")


def test_planted_exact_and_near_duplicates_are_found():
    evals = {"eval": _table(["What is the capital of France?", LONG, "Name three oceans."], "e")}
    found = find_overlap(_pool(), evals, threshold=0.7)
    pairs = {(r.pool_id, r.eval_id, r.kind) for r in found.itertuples()}
    assert pairs == {("p30", "e0", "exact"), ("p31", "e1", "near")}
    assert found.loc[found["kind"] == "near", "similarity"].iloc[0] >= 0.7
    clean = drop_overlap(_pool(), found)
    assert len(clean) == 30 and not {"p30", "p31"} & set(clean["id"])


def test_disjoint_sets_overlap_nowhere():
    evals = {"mt": _table(["Describe the water cycle.", "Summarise the plot of Hamlet."], "m")}
    assert find_overlap(_pool(), evals).empty


def test_overlap_cli_drops_contaminated_examples(tmp_path, capsys):
    pool_path = tmp_path / "pool.jsonl"
    pool_path.write_text(
        "\n".join(
            json.dumps({"instruction": t, "input": "", "output": "an answer"})
            for t in _pool()["instruction"]
        )
    )
    eval_path = tmp_path / "eval.jsonl"
    eval_path.write_text(json.dumps({"instruction": "What is the capital of France?", "input": "",
                                     "output": "Paris"}))  # fmt: skip
    clean = tmp_path / "clean.parquet"
    argv = ["overlap", str(pool_path), "--eval", str(eval_path), "--drop", "-o", str(clean)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "1 of 32 pool examples repeat an evaluation item (1 exact, 0 near" in out
    assert len(read_parquet(clean)) == 31
    assert main(["overlap", str(pool_path), "--eval", str(eval_path), "--drop"]) == 2
