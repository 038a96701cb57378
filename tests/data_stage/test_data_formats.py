"""Every format reads its committed real sample, is auto-detected, and maps fields as documented."""

from __future__ import annotations

import json

import pytest
from data_stage_paths import SAMPLES

from instructmining.data import FORMATS, build_pool, read_examples
from instructmining.data.example import STORED_COLUMNS

MT_BENCH = [SAMPLES / "mt_bench/question.jsonl", SAMPLES / "mt_bench/model_answer/gpt-4.jsonl"]
VICUNA = [SAMPLES / "vicuna_legacy/question.jsonl", SAMPLES / "vicuna_legacy/answer_gpt35.jsonl"]

# sample, format it must be detected as, examples (first turn), conversations kept whole
CASES = [
    ("alpaca/alpaca_5000_sample.json", "alpaca", 120, 120),
    ("alpaca/alpaca_eval_gpt4_sample.json.gz", "alpaca", 60, 60),
    ("dolly/alpagasus_dolly_3k_sample.json", "dolly", 60, 60),
    ("dolly/dolly_original_fields_sample.jsonl", "dolly", 60, 60),
    ("oasst/oasst1_validation_en_sample.jsonl.gz", "oasst", 12, 21),
    ("oasst/oa_en_100_tree_sample.jsonl", "oasst", 8, 16),
    ("sharegpt/sharegpt_from_oasst1_sample.json", "sharegpt", 40, 40),
    ("messages/messages_sample.jsonl", "messages", 45, 45),
    ("openorca/openorca_fields_sample.parquet", "openorca", 50, 50),
    ("orca_dpo/orca_dpo_pairs_sample.jsonl", "orca-dpo", 40, 40),
    ("self_instruct/user_oriented_instructions_sample.jsonl", "self-instruct", 40, 40),
    ("lima/lima_sample.json", "lima", 50, 50),
    ("stackexchange/coffee_Posts_sample.xml", "stackexchange", 29, 29),
]


def _load(rel: str) -> list:
    """The sample's raw records, read independently of the package."""
    import gzip

    path = SAMPLES / rel
    raw = (gzip.open if rel.endswith(".gz") else open)(path, "rt", encoding="utf-8").read()
    if raw.lstrip().startswith("["):
        return json.loads(raw)
    return [json.loads(line) for line in raw.splitlines() if line.strip()]


@pytest.mark.parametrize(("rel", "fmt", "first", "every"), CASES)
def test_sample_is_detected_and_read(rel, fmt, first, every):
    build = build_pool(SAMPLES / rel)
    assert build.formats == {str(SAMPLES / rel): fmt}
    assert build.detected
    assert list(build.pool.columns) == STORED_COLUMNS
    assert len(build.pool) == first
    assert build.problems == {} and build.duplicates == 0
    assert build.pool["id"].is_unique
    assert (build.pool["output"].str.len() > 0).all()
    assert len(build_pool(SAMPLES / rel, all_turns=True).pool) == every


@pytest.mark.parametrize(("rel", "fmt", "first", "every"), CASES)
def test_sample_reads_with_its_format_named(rel, fmt, first, every):
    assert len(read_examples(SAMPLES / rel, format=fmt)) == first


def test_every_registered_format_has_a_sample():
    covered = {fmt for _, fmt, _, _ in CASES} | {"mt-bench", "pool"}
    assert covered == set(FORMATS)


def test_mt_bench_joins_questions_and_answers():
    questions = _load("mt_bench/question.jsonl")
    answers = {a["question_id"]: a for a in _load("mt_bench/model_answer/gpt-4.jsonl")}
    build = build_pool(MT_BENCH)
    assert set(build.formats.values()) == {"mt-bench"}
    pool = build.pool
    assert len(pool) == 20 and set(pool["source"]) == {"gpt-4"}
    q = questions[3]
    row = pool[pool["instruction"] == q["turns"][0].strip()].iloc[0]
    assert row["output"] == answers[q["question_id"]]["choices"][0]["turns"][0].strip()
    assert row["input"] == ""
    both = build_pool(MT_BENCH, all_turns=True).pool
    assert len(both) == 20  # each question with its answers is one two-turn conversation
    second = both[both["instruction"] == q["turns"][1].strip()].iloc[0]
    assert second["input"].startswith("User: " + q["turns"][0].strip()[:40])
    replies = answers[q["question_id"]]["choices"][0]["turns"]
    assert json.loads(second["messages"]) == [
        {"role": role, "content": text.strip()}
        for role, text in zip(
            ["user", "assistant"] * 2,
            [x for pair in zip(q["turns"], replies, strict=True) for x in pair],
            strict=True,
        )
    ]
    assert "\n\nAssistant: " in second["input"]
    assert second["output"] == answers[q["question_id"]]["choices"][0]["turns"][1].strip()


def test_legacy_vicuna_table_joins_by_question_id():
    pool = read_examples(VICUNA)
    assert len(pool) == 10
    questions = {q["question_id"]: q["text"] for q in _load("vicuna_legacy/question.jsonl")}
    answer = _load("vicuna_legacy/answer_gpt35.jsonl")[0]
    row = pool[pool["output"] == answer["text"].strip()].iloc[0]
    assert row["instruction"] == questions[answer["question_id"]].strip()


def test_mt_bench_without_answers_is_a_clear_error():
    with pytest.raises(Exception, match="question.jsonl: MT-Bench questions have no responses"):
        read_examples(MT_BENCH[0])


def test_mt_bench_answers_without_questions_is_a_clear_error():
    with pytest.raises(Exception, match="need their question file"):
        read_examples(MT_BENCH[1])


def test_dolly_fields_map_to_input_and_output():
    original = _load("dolly/dolly_original_fields_sample.jsonl")
    pool = read_examples(SAMPLES / "dolly/dolly_original_fields_sample.jsonl")
    with_context = next(r for r in original if r["context"].strip())
    row = pool[pool["instruction"] == with_context["instruction"].strip()].iloc[0]
    assert row["input"] == with_context["context"].strip()
    assert row["output"] == with_context["response"].strip()


def test_system_prompts_go_to_the_system_column():
    orca = read_examples(SAMPLES / "openorca/openorca_fields_sample.parquet")
    assert (orca["system"] != "").any()
    dpo = _load("orca_dpo/orca_dpo_pairs_sample.jsonl")[0]
    pool = read_examples(SAMPLES / "orca_dpo/orca_dpo_pairs_sample.jsonl")
    row = pool.iloc[0]
    assert row["system"] == dpo["input"]["messages"][0]["content"].strip()
    assert row["instruction"] == dpo["input"]["messages"][1]["content"].strip()
    assert row["output"] == dpo["preferred_output"][0]["content"].strip()
    messages = read_examples(SAMPLES / "messages/messages_sample.jsonl")
    assert (messages["system"] != "").sum() == 25  # the orca records carry a system message


def test_sharegpt_turns_and_history():
    conversations = _load("sharegpt/sharegpt_from_oasst1_sample.json")
    every = read_examples(SAMPLES / "sharegpt/sharegpt_from_oasst1_sample.json", all_turns=True)
    assert len(every) == len(conversations)  # each conversation kept whole
    roles = {"human": "user", "gpt": "assistant"}
    kept = [
        [{"role": roles[t["from"]], "content": t["value"].strip()} for t in c["conversations"]]
        for c in conversations
    ]
    kept = [turns[:-1] if turns[-1]["role"] == "user" else turns for turns in kept]
    assert sorted(json.dumps(t, ensure_ascii=False) for t in kept) == sorted(every["messages"])
    first = conversations[0]["conversations"]
    pool = read_examples(SAMPLES / "sharegpt/sharegpt_from_oasst1_sample.json")
    row = pool.iloc[0]
    assert (row["instruction"], row["output"]) == (
        first[0]["value"].strip(),
        first[1]["value"].strip(),
    )
    later = every[every["input"] != ""].iloc[0]
    assert later["input"].startswith("User: ")


def test_oasst_keeps_the_best_ranked_reply_of_each_root_prompt():
    import gzip

    rows = [
        json.loads(x) for x in gzip.open(SAMPLES / "oasst/oasst1_validation_en_sample.jsonl.gz")
    ]
    roots = [r for r in rows if r["parent_id"] is None]
    best = {}
    for root in roots:
        replies = [r for r in rows if r["parent_id"] == root["message_id"] and not r["deleted"]]
        ranked = sorted(replies, key=lambda r: 99 if r["rank"] is None else r["rank"])
        best[root["text"].strip()] = ranked[0]["text"].strip()
    pool = read_examples(SAMPLES / "oasst/oasst1_validation_en_sample.jsonl.gz")
    assert dict(zip(pool["instruction"], pool["output"], strict=True)) == best
    assert (pool["input"] == "").all()


def test_oasst_tree_export_and_rows_agree_on_shape():
    trees = _load("oasst/oa_en_100_tree_sample.jsonl")
    pool = read_examples(SAMPLES / "oasst/oa_en_100_tree_sample.jsonl")
    for tree in trees:
        prompt = tree["prompt"]
        replies = sorted(
            prompt["replies"], key=lambda r: (r.get("rank") is None, r.get("rank") or 0)
        )
        row = pool[pool["instruction"] == prompt["text"].strip()].iloc[0]
        assert row["output"] == replies[0]["text"].strip()


def test_self_instruct_gives_one_example_per_instance(tmp_path):
    record = {
        "instruction": "Sort the numbers.",
        "instances": [{"input": "3 1 2", "output": "1 2 3"}, {"input": "9 8", "output": "8 9"}],
    }
    path = tmp_path / "seed_tasks.jsonl"
    path.write_text(json.dumps(record) + "\n")
    pool = read_examples(path)
    assert pool[["input", "output"]].values.tolist() == [["3 1 2", "1 2 3"], ["9 8", "8 9"]]


def test_lima_history_first_turn_and_all_turns():
    records = _load("lima/lima_sample.json")
    multi = [r for r in records if r["history"]]
    pool = read_examples(SAMPLES / "lima/lima_sample.json")
    first = multi[0]["history"][0]
    assert first[0].strip() in set(pool["instruction"])
    every = read_examples(SAMPLES / "lima/lima_sample.json", all_turns=True)
    assert len(every) == len(records)  # one conversation each, its history kept whole
    last = every[every["output"] == multi[0]["output"].strip()].iloc[0]
    assert last["input"].startswith("User: " + first[0].strip()[:30])
    turns = json.loads(last["messages"])
    assert len(turns) == 2 * len(multi[0]["history"]) + 2
    assert turns[0] == {"role": "user", "content": first[0].strip()}
    assert turns[-1] == {"role": "assistant", "content": multi[0]["output"].strip()}


def test_stackexchange_uses_accepted_else_top_answer(tmp_path):
    posts = tmp_path / "Posts.xml"
    posts.write_text(
        '<?xml version="1.0" encoding="utf-8"?>\n<posts>\n'
        '  <row Id="1" PostTypeId="1" AcceptedAnswerId="3" Score="5" Title="Grind size?" '
        'Body="&lt;p&gt;How &lt;b&gt;fine&lt;/b&gt;?&lt;/p&gt;" />\n'
        '  <row Id="2" PostTypeId="2" ParentId="1" Score="9" Body="&lt;p&gt;top&lt;/p&gt;" />\n'
        '  <row Id="3" PostTypeId="2" ParentId="1" Score="1" Body="&lt;p&gt;accepted &amp;amp; '
        'right&lt;/p&gt;&lt;ul&gt;&lt;li&gt;a&lt;/li&gt;&lt;li&gt;b&lt;/li&gt;&lt;/ul&gt;" />\n'
        '  <row Id="4" PostTypeId="1" Score="1" Title="Water?" Body="&lt;p&gt;Hard?&lt;/p&gt;" />\n'
        '  <row Id="5" PostTypeId="2" ParentId="4" Score="2" Body="&lt;p&gt;low&lt;/p&gt;" />\n'
        '  <row Id="6" PostTypeId="2" ParentId="4" Score="7" Body="&lt;p&gt;high&lt;/p&gt;" />\n'
        '  <row Id="7" PostTypeId="1" Score="1" Title="Unanswered" Body="&lt;p&gt;?&lt;/p&gt;" />\n'
        "</posts>\n",
        encoding="utf-8-sig",  # the dumps start with a byte-order mark
    )
    pool = read_examples(posts)
    assert pool[["instruction", "output"]].values.tolist() == [
        ["Grind size?\n\nHow fine?", "accepted & right\n\n- a\n- b"],
        ["Water?\n\nHard?", "high"],
    ]


def test_stackexchange_sample_strips_html():
    pool = read_examples(SAMPLES / "stackexchange/coffee_Posts_sample.xml")
    assert pool.iloc[0]["instruction"].startswith("How should I store whole bean coffee?\n\nI just")
    assert not pool["output"].str.contains("<p>|&lt;|&amp;", regex=True).any()


def test_pool_table_reads_back_with_its_sources(tmp_path):
    from instructmining.storage import write_parquet

    first = build_pool([SAMPLES / "alpaca/alpaca_5000_sample.json", *MT_BENCH]).pool
    write_parquet(first, tmp_path / "pool.parquet")
    again = build_pool(tmp_path / "pool.parquet")
    assert again.formats == {str(tmp_path / "pool.parquet"): "pool"}
    assert again.pool.equals(first)
    renamed = read_examples(tmp_path / "pool.parquet", source="mine")
    assert set(renamed["source"]) == {"mine"} and renamed["id"].tolist() == first["id"].tolist()
