"""Conversations kept whole (`pool build --all-turns`): sharegpt and messages inputs come back
unchanged from pool build -> select -> export, an oasst tree keeps every turn in order, the
flat alpaca layout gets the documented flattening, and a broken conversation is one line naming
its file and line, exit 2, with nothing written."""

from __future__ import annotations

import gzip
import json

import pandas as pd
import pytest
from data_stage_paths import SAMPLES

from instructmining.data import build_pool, read_pool, write_pool
from instructmining.errors import UserError

SHAREGPT = SAMPLES / "sharegpt/sharegpt_from_oasst1_sample.json"
MESSAGES = SAMPLES / "messages/messages_sample.jsonl"
OASST_ROWS = SAMPLES / "oasst/oasst1_validation_en_sample.jsonl.gz"


def _strict(line: str) -> dict:
    def refuse(name: str) -> None:
        raise ValueError(f"non-standard JSON constant {name}")

    return json.loads(line, parse_constant=refuse)


def _select_all(cli, tmp_path, source, output_format: str, selector: str = "random") -> list:
    """pool build --all-turns, then select every example, exported in `output_format`."""
    pool = tmp_path / "pool.parquet"
    code, _, err = cli("pool", "build", source, "--all-turns", "-o", pool)
    assert code == 0, err
    n = len(pd.read_parquet(pool))
    out = tmp_path / f"sel-{output_format}.jsonl"
    code, _, err = cli(
        "select", pool, "--selector", selector, "--top", n, "--output-format", output_format,
        "-o", out,
    )  # fmt: skip
    assert code == 0, err
    return [_strict(line) for line in out.read_text(encoding="utf-8").splitlines()]


def test_sharegpt_round_trips_unchanged(cli, tmp_path):
    given = json.loads(SHAREGPT.read_text(encoding="utf-8"))
    answered = [c["conversations"] for c in given if c["conversations"][-1]["from"] == "gpt"]
    assert any(len(c) >= 4 for c in answered)  # multi-turn conversations are in the sample
    records = _select_all(cli, tmp_path, SHAREGPT, "sharegpt")
    exported = [r["conversations"] for r in records]
    for conversation in answered:  # every answered conversation comes back exactly
        assert conversation in exported
    assert len(exported) == len(given)  # the rest without their unanswered last user turn


def test_messages_round_trip_unchanged(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("INSTRUCTMINING_CACHE", str(tmp_path / "cache"))
    given = [json.loads(line) for line in MESSAGES.read_text(encoding="utf-8").splitlines()]
    answered = [r["messages"] for r in given if r["messages"][-1]["role"] == "assistant"]
    records = _select_all(cli, tmp_path, MESSAGES, "messages", selector="mtld")
    exported = [r["messages"] for r in records]
    for messages in answered:
        assert messages in exported
    assert all(set(r["indicators"]) == {"mtld"} for r in records)
    ranks = [r["rank"] for r in records]
    assert ranks == list(range(1, len(records) + 1))


def test_an_oasst_tree_exported_as_messages_keeps_every_turn_in_order(cli, tmp_path):
    rows = [json.loads(line) for line in gzip.open(OASST_ROWS, "rt", encoding="utf-8")]
    by_id = {r["message_id"]: r for r in rows}
    records = _select_all(cli, tmp_path, OASST_ROWS, "messages")
    longest = max(records, key=lambda r: len(r["messages"]))
    assert len(longest["messages"]) >= 4
    # Walk the tree back from the last reply: each turn is its parent's child, in order.
    texts = [m["content"] for m in longest["messages"]]
    last = next(r for r in rows if r["text"].strip() == texts[-1] and not r["deleted"])
    path = []
    while last is not None:
        path.append(last)
        last = by_id.get(last["parent_id"])
    path = path[::-1]
    assert [r["text"].strip() for r in path] == texts
    roles = {"prompter": "user", "assistant": "assistant"}
    assert [m["role"] for m in longest["messages"]] == [roles[r["role"]] for r in path]


def test_a_small_tree_gives_its_conversations_whole(tmp_path):
    def node(i, role, text, replies=(), rank=None):
        return {"message_id": i, "role": role, "text": text, "rank": rank, "replies": list(replies)}

    tree = {
        "prompt": node("p1", "prompter", "Hi?", [
            node("a1", "assistant", "Hello.", [
                node("p2", "prompter", "How are you?", [node("a3", "assistant", "Well.")]),
                node("p3", "prompter", "Bye?"),  # unanswered: no conversation ends here
            ], rank=0),
            node("a2", "assistant", "Hey.", [
                node("p4", "prompter", "What?", [node("a4", "assistant", "Nothing.")]),
            ], rank=1),
        ])
    }  # fmt: skip
    path = tmp_path / "tree.jsonl"
    path.write_text(json.dumps(tree) + "\n")
    pool = build_pool(path, all_turns=True).pool
    got = sorted(pool["messages"])
    say = [
        ("user", "Hi?"),
        ("assistant", "Hello."),
        ("user", "How are you?"),
        ("assistant", "Well."),
    ]
    other = [("user", "Hi?"), ("assistant", "Hey."), ("user", "What?"), ("assistant", "Nothing.")]
    want = [json.dumps([{"role": r, "content": c} for r, c in t]) for t in (say, other)]
    assert got == sorted(want)
    first = build_pool(path).pool  # without --all-turns: the root prompt's best reply only
    assert first[["instruction", "output"]].values.tolist() == [["Hi?", "Hello."]]
    assert (first["messages"] == "").all()


def test_alpaca_export_flattens_a_conversation(cli, tmp_path):
    path = tmp_path / "chat.jsonl"
    turns = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Name a colour."},
        {"role": "assistant", "content": "Red."},
        {"role": "user", "content": "Another?"},
        {"role": "assistant", "content": "Blue."},
    ]
    path.write_text(json.dumps({"messages": turns}) + "\n")
    (record,) = _select_all(cli, tmp_path, path, "alpaca")
    assert (record["instruction"], record["output"], record["system"]) == (
        "Another?", "Blue.", "Be brief."
    )  # fmt: skip
    assert record["input"] == "User: Name a colour.\n\nAssistant: Red."


def test_pools_written_before_conversations_read_as_single_exchanges(tmp_path, cli):
    old = build_pool(SAMPLES / "alpaca/alpaca_5000_sample.json").pool.drop(columns="messages")
    path = tmp_path / "old.parquet"
    old.to_parquet(path, index=False)
    assert (read_pool(path)["messages"] == "").all()
    out = tmp_path / "sel.jsonl"
    code, _, err = cli("select", path, "--selector", "random", "--top", 3, "--output-format",
                       "messages", "-o", out)  # fmt: skip
    assert code == 0, err
    first = _strict(out.read_text().splitlines()[0])
    assert [m["role"] for m in first["messages"]] == ["user", "assistant"]
    merged = tmp_path / "merged.parquet"
    write_pool(build_pool(MESSAGES, all_turns=True).pool, merged)
    again = build_pool(merged, all_turns=True).pool  # a pool table read back as input
    assert sorted(again["messages"]) == sorted(read_pool(merged)["messages"])


@pytest.mark.parametrize(
    ("record", "message"),
    [
        (
            {"conversations": [{"from": "human", "value": "Hi"}, {"from": "gpt", "value": "A"},
                               {"from": "gpt", "value": "B"}]},
            "turns 2 and 3 are two assistant turns in a row",
        ),
        (
            {"conversations": [{"from": "human", "value": "Hi"}, {"from": "gpt", "value": "  "}]},
            "turn 2 (assistant) is empty",
        ),
        (
            {"messages": [{"role": "user", "content": "Hi"}, {"content": "A"}]},
            "missing field 'messages[1].role'",
        ),
        (
            {"messages": [{"role": "assistant", "content": "A"}, {"role": "user", "content": "Q"},
                          {"role": "assistant", "content": "B"}]},
            "turn 1 is an assistant turn before any user turn",
        ),
    ],
)  # fmt: skip
def test_a_broken_conversation_is_one_line_naming_file_and_line(cli, tmp_path, record, message):
    good = {"messages": [{"role": "user", "content": "Q"}, {"role": "assistant", "content": "A"}]}
    if "conversations" in record:
        good = {"conversations": [{"from": "human", "value": "Q"}, {"from": "gpt", "value": "A"}]}
    path = tmp_path / "chats.jsonl"
    path.write_text(json.dumps(good) + "\n" + json.dumps(record) + "\n")
    before = path.read_bytes()
    out = tmp_path / "pool.parquet"
    code, _, err = cli("pool", "build", path, "--all-turns", "-o", out)
    assert code == 2
    lines = err.strip().splitlines()  # the detected format is announced first
    assert lines[:-1] == [
        f"{path}: format {next(iter(record)).replace('conversations', 'sharegpt')} (detected)"
    ]
    assert lines[-1].startswith(f"error: {path}:2:") and message in lines[-1]
    assert not out.exists() and path.read_bytes() == before


@pytest.mark.parametrize("cell", ["not json", "[1]", '[{"role": "robot", "content": "x"}]'])
def test_a_pool_table_with_broken_messages_is_one_line(cli, tmp_path, cell):
    pool = build_pool(SAMPLES / "alpaca/alpaca_5000_sample.json").pool.head(3)
    pool.loc[1, "messages"] = cell
    path = tmp_path / "pool.parquet"
    pool.to_parquet(path, index=False)
    with pytest.raises(UserError, match=r"row 2: column 'messages' should be empty or JSON"):
        read_pool(path)
    code, _, err = cli(
        "select", path, "--selector", "random", "--top", 1, "-o", tmp_path / "s.jsonl"
    )
    assert code == 2 and "row 2: column 'messages'" in err
    code, _, err = cli("pool", "build", path, "-o", tmp_path / "merged.parquet")
    assert code == 2 and f"{path}:2: field 'messages' should be JSON text" in err
