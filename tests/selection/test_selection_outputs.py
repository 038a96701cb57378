"""What `select` writes and where: named score tables, score and rank in each record, chat
formats, caches away from the user's files, and the models a rule's values came from."""

from __future__ import annotations

import json

import pandas as pd
import pyarrow.parquet as pq
import pytest

from instructmining.selection.provenance import METADATA_KEY


def _pool(n: int = 12) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": [f"e{i:02d}" for i in range(n)],
            "source": "alpaca",
            "instruction": [f"Write {i} words about tea." for i in range(n)],
            "input": ["", "in Tokyo"] * (n // 2),
            "output": [" ".join(["tea"] * (i + 1)) for i in range(n)],
            "system": "",
        }
    )


@pytest.fixture
def ws(tmp_path):
    root = tmp_path / "ws"
    root.mkdir()
    pool = _pool()
    pool.to_parquet(root / "pool.parquet", index=False)
    ind = pd.DataFrame(
        {"id": pool["id"], "reward": range(12), "output_len": range(12), "knn6": [0.5] * 12}
    )
    ind.to_parquet(root / "indicators.parquet", index=False)
    return root


def test_two_selections_in_one_folder_keep_both_score_tables(ws, cli):
    for name, selector in (("by_rule", "rule"), ("by_reward", "reward")):
        args = ["select", ws / "pool.parquet", "--selector", selector, "--top", "4"]
        code, out, err = cli(*args, "--rule", "paper-v1", "-o", ws / f"{name}.jsonl")
        assert code == 0, err
        assert f"{name}.scores.parquet" in out
    rule = pd.read_parquet(ws / "by_rule.scores.parquet")
    reward = pd.read_parquet(ws / "by_reward.scores.parquet")
    assert len(rule) == len(reward) == 12
    assert list(reward.sort_values("rank")["id"].head(4)) == ["e11", "e10", "e09", "e08"]
    assert not rule["score"].equals(reward["score"])
    records = [json.loads(line) for line in (ws / "by_reward.jsonl").read_text().splitlines()]
    assert [r["rank"] for r in records] == [1, 2, 3, 4]
    by_id = reward.set_index("id")["score"]
    assert all(r["score"] == pytest.approx(by_id[r["id"]]) for r in records)


def test_select_on_a_file_writes_nothing_beside_it(tmp_path, cli, monkeypatch):
    inputs = tmp_path / "mine"
    inputs.mkdir()
    data = inputs / "data.jsonl"
    records = _pool().to_dict("records")
    data.write_text("".join(json.dumps(r) + "\n" for r in [*records, records[0]]))
    cache = tmp_path / "user-cache"
    monkeypatch.setenv("INSTRUCTMINING_CACHE", str(cache))
    out = tmp_path / "out" / "picked.jsonl"
    out.parent.mkdir()
    code, stdout, err = cli("select", data, "--selector", "mtld", "--top", "3", "-o", out)
    assert code == 0, err
    assert "dropped 1 exact duplicates" in stdout
    assert sorted(p.name for p in inputs.iterdir()) == ["data.jsonl"]
    assert sorted(p.name for p in out.parent.iterdir()) == ["picked.jsonl", "picked.scores.parquet"]
    assert (cache / "indicators").is_dir()  # the per-user cache ($INSTRUCTMINING_CACHE)
    code, _, err = cli("select", data, "--selector", "mtld", "--top", "3", "-o", out,
                       "--cache-dir", tmp_path / "c")  # fmt: skip
    assert code == 0, err and (tmp_path / "c").is_dir()


def test_messages_output_loads_with_datasets_and_feeds_a_chat_template(ws, cli, tiny_model):
    datasets = pytest.importorskip("datasets")
    from transformers import AutoTokenizer

    out = ws / "chat.jsonl"
    args = ["select", ws / "pool.parquet", "--selector", "reward", "--top", "5"]
    code, _, err = cli(*args, "--output-format", "messages", "-o", out)
    assert code == 0, err
    loaded = datasets.load_dataset("json", data_files=str(out), split="train")
    assert len(loaded) == 5 and set(loaded.column_names) >= {"messages", "score", "rank"}
    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    first = loaded[0]["messages"]
    assert [m["role"] for m in first] == ["user", "assistant"]
    text = tokenizer.apply_chat_template(first, tokenize=False)
    assert "<|im_start|>user\nWrite 11 words about tea.\n\nin Tokyo<|im_end|>" in text
    assert "<|im_start|>assistant\n" + " ".join(["tea"] * 12) in text


def test_sharegpt_output_and_a_bad_format(ws, cli):
    out = ws / "sg.jsonl"
    args = ["select", ws / "pool.parquet", "--selector", "reward", "--top", "2", "-o", out]
    code, _, err = cli(*args, "--output-format", "sharegpt")
    assert code == 0, err
    first = json.loads(out.read_text().splitlines()[0])
    assert [t["from"] for t in first["conversations"]] == ["human", "gpt"]
    code, _, err = cli(*args, "--output-format", "csv")
    assert code == 2 and "--output-format must be one of alpaca, messages, sharegpt" in err


def test_causal_lm_as_reward_model_exits_2_naming_what_it_lacks(ws, cli, tiny_model):
    (ws / "indicators.parquet").unlink()
    out = ws / "picked.jsonl"
    args = ["select", ws / "pool.parquet", "--selector", "reward", "--top", "3", "-o", out]
    code, _, err = cli(*args, "--reward-model", tiny_model)
    assert code == 2
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith(f"error: cannot load model '{tiny_model}': it lacks a reward head")
    assert "score.weight" in lines[0]
    assert not out.exists()


def test_a_rules_substitutes_are_said_and_recorded(ws, cli, tiny_model):
    ind = pd.read_parquet(ws / "indicators.parquet").drop(columns=["output_len"])
    ind.to_parquet(ws / "indicators.parquet", index=False)
    out = ws / "picked.jsonl"
    args = ["select", ws / "pool.parquet", "--rule", "paper-v1", "--top", "3", "-o", out]
    code, stdout, err = cli(*args, "--length-tokenizer", tiny_model)
    assert code == 0, err
    assert "paper-v1 was fitted with meta-llama/Llama-2-7b-hf as the tokenizer for output_len" in (
        " ".join(stdout.split())
    )
    assert "coefficients were not fitted on these substitutes" in " ".join(stdout.split())
    raw = pq.read_schema(ws / "picked.scores.parquet").metadata[METADATA_KEY]
    recorded = {s["column"]: s for s in json.loads(raw)["substitutes"]}
    assert set(recorded) == {"reward", "output_len", "knn6"}
    assert recorded["output_len"]["used_model"].startswith("dir:")
    assert recorded["output_len"]["values_from"] == "computed"
    assert recorded["reward"]["used_model"] == "not recorded"  # a table without definitions


def test_values_computed_with_the_rules_own_models_are_no_substitutes(ws, cli):
    from instructmining.indicators.output import METADATA_KEY as DEFINITIONS
    from instructmining.models.loader import model_identity
    from instructmining.rule.published import EMBEDDER, LLAMA2, REWARD_MODEL

    table = pq.read_table(ws / "indicators.parquet")
    definitions = {
        "reward": {"indicator": "reward", "model": f"hub:{REWARD_MODEL}"},
        "output_len": {"indicator": "length", "model": f"hub:{LLAMA2}"},
        "knn6": {"indicator": "knn", "model": model_identity(EMBEDDER)},
    }
    meta = {DEFINITIONS: json.dumps(definitions).encode()}
    pq.write_table(table.replace_schema_metadata(meta), ws / "indicators.parquet")
    out = ws / "picked.jsonl"
    code, stdout, err = cli(
        "select", ws / "pool.parquet", "--rule", "paper-v1", "--top", "3", "-o", out
    )
    assert code == 0, err and "note:" not in stdout
    raw = pq.read_schema(ws / "picked.scores.parquet").metadata[METADATA_KEY]
    assert json.loads(raw)["substitutes"] == []
