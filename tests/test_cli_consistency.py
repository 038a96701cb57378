"""Options that mean the same on every command: --seeds, --test-eval, -o, --device; missing
workspace tables name the command that makes them; per_source on the CLI as in YAML."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from instructmining.errors import UserError
from instructmining.experiments.arguments import parse_seeds, parse_test_evals


@pytest.mark.parametrize(
    ("text", "seeds"), [("3", [0, 1, 2]), ("0,1,2", [0, 1, 2]), ("7,", [7]), ("1", [0])]
)
def test_seeds_take_a_count_or_a_list(text, seeds):
    assert parse_seeds(text) == seeds


@pytest.mark.parametrize(("text", "message"), [("a,b", "integers separated by commas"),
                                               ("0", "at least 1"), (",", "empty")])  # fmt: skip
def test_bad_seeds(text, message):
    with pytest.raises(UserError, match=message):
        parse_seeds(text)


def test_test_eval_is_name_equals_file():
    assert parse_test_evals(["dolly=d.jsonl"]) == {"dolly": __import__("pathlib").Path("d.jsonl")}
    with pytest.raises(UserError, match="NAME=FILE"):
        parse_test_evals(["d.jsonl"])


def test_compare_takes_a_seed_list_and_missing_tables_name_their_command(tmp_path, cli):
    ws = tmp_path / "ws"
    ws.mkdir()
    code, _, err = cli("compare", ws, "--rule", "paper-v1", "--n", "3", "--seeds", "0,1,2")
    assert code == 2 and "pool.parquet: no such file (made by `instructmining pool build" in err
    pd.DataFrame({"id": ["a"]}).to_parquet(ws / "indicators.parquet")
    code, _, err = cli("fit", ws)
    assert code == 2 and "(made by `instructmining" in err, err


def test_search_test_eval_has_the_experiment_form(tmp_path, cli):
    args = ["search", tmp_path, "--rule", "paper-v1"]
    code, _, err = cli(*args, "--test-eval", "d.jsonl")
    assert code == 2 and "--test-eval must be NAME=FILE" in err
    code, _, err = cli(*args, "--test-eval", "dolly=nope.jsonl")
    assert code == 2 and "nope.jsonl: no such evaluation file" in err


def test_run_takes_minus_o_and_output(cli):
    from typer.testing import CliRunner

    from instructmining.cli.app import app

    help_text = CliRunner().invoke(app, ["run", "--help"]).output
    assert "-o" in help_text and "--output" in help_text


def test_device_mps_is_clear_without_one(tmp_path, cli):
    import torch

    if torch.backends.mps.is_available():
        pytest.skip("this machine has an MPS device: --device mps is used")
    pool = tmp_path / "pool.parquet"
    pd.DataFrame({"id": ["a"], "instruction": ["x"], "output": ["y"]}).to_parquet(pool)
    code, _, err = cli("indicators", pool, "-o", tmp_path / "i.parquet", "--indicators", "ppl",
                       "--device", "mps")  # fmt: skip
    assert code == 2 and "--device mps: no Apple-silicon GPU (MPS) is visible" in err


def test_pool_build_per_source(tmp_path, cli):
    data = tmp_path / "data.jsonl"
    rows = [{"instruction": f"q{i}", "output": f"a{i}"} for i in range(10)]
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "pool.parquet"
    code, stdout, err = cli("pool", "build", data, "-o", out, "--per-source", "4")
    assert code == 0 and "kept 4 of 10 examples (at most 4 per source)" in err
    assert len(pd.read_parquet(out)) == 4


def test_mtld_empty_values_are_explained(tmp_path, cli):
    pool = tmp_path / "pool.parquet"
    frame = pd.DataFrame({"id": ["a", "b"], "instruction": ["x", "y"],
                          "output": ["some plain words here", "12345 !!!"]})  # fmt: skip
    frame.to_parquet(pool)
    args = ["indicators", pool, "-o", tmp_path / "i.parquet", "--indicators", "mtld"]
    code, _, err = cli(*args, "--cache-dir", tmp_path / "c")
    assert code == 0, err
    assert "mtld: 1 empty value(s): the response has no word lexicalrichness counts" in " ".join(
        err.split()
    )


def test_eval_limit_takes_the_first_items_by_id(tmp_path, cli):
    from instructmining.experiments.arguments import limited_eval_set

    data = tmp_path / "eval.jsonl"
    rows = [{"instruction": f"q{i}", "output": f"a{i}"} for i in range(5)]
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    ws = tmp_path / "ws"
    ws.mkdir()
    path = limited_eval_set(data, 2, ws)
    table = pd.read_parquet(path)
    assert path == ws / "eval.parquet" and len(table) == 2 and table["id"].is_monotonic_increasing
    assert limited_eval_set(data, None, ws) == data
    code, _, err = cli("experiment", ws, "--eval", data, "--eval-limit", "0")
    assert code == 2 and "--eval-limit must be at least 1" in err


def test_push_to_hub_is_checked_before_any_work(tmp_path, cli, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    data = tmp_path / "d.jsonl"
    data.write_text(json.dumps({"instruction": "q", "output": "a"}) + "\n")
    out = tmp_path / "o" / "s.jsonl"
    args = ["select", data, "--selector", "random", "--top", "1", "-o", out]
    code, _, err = cli(*args, "--push-to-hub", "nobody/sel")
    assert code == 2 and "the Hugging Face Hub cannot be reached" in err and not out.exists()
    code, _, err = cli(*args, "--push-to-hub", "justaname")
    assert code == 2 and "--push-to-hub takes OWNER/NAME" in err
