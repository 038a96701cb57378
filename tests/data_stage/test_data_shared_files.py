"""Every instruction and evaluation file in ../shared/data builds, with counts checked by hand.

Expected counts come from SOURCES.md and from counting the raw records independently: e.g.
alpaca_5000 has 5000 records, 2 with an empty output; LIMA has 1000 single-turn records and 29
with history (15 x 1, 10 x 2, 3 x 3, 1 x 9 earlier exchanges), each one conversation kept whole
with --all-turns; oasst1 validation en has 188 root prompts, all answered (385 conversations
kept whole: the paths that end at a best reply no answered prompt continues); beer has 663
questions, 644 answered; an MT-Bench question with its answers is one two-turn conversation.
"""

from __future__ import annotations

import json

import pytest
from data_stage_paths import SHARED

from instructmining.data import build_pool
from instructmining.errors import InputError

pytestmark = [
    pytest.mark.shared_data,
    pytest.mark.skipif(
        not SHARED.is_dir(), reason="../shared/data (the full real data files) is not present"
    ),
]

MT, VB, EMPTY2 = "eval/mt_bench", "eval/vicuna_bench", {"empty response": 2}
# file(s), format, examples first-turn, conversations kept whole (--all-turns), dropped, duplicates
FILES = [
    ("alpaca/alpaca_5000.json", "alpaca", 4998, 4998, EMPTY2, 0),
    ("alpaca/alpagasus_random_9k.json", "alpaca", 9225, 9225, {"empty response": 4}, 0),
    ("alpaca/alpagasus_claude_t45.json", "alpaca", 5301, 5301, {"empty response": 4}, 0),
    ("alpaca_gpt4/alpaca_en_demo.json", "alpaca", 985, 985, {}, 14),
    ("dolly/alpagasus_dolly_3k.json", "dolly", 2994, 2994, {}, 2),
    ("lima/lima.json", "lima", 1029, 1029, {}, 0),
    ("oasst1/oasst1_validation_en.jsonl", "oasst", 188, 385, {}, 0),
    ("oasst1/oa_en_100_tree.jsonl", "oasst", 100, 207, {}, 0),
    ("openorca/orca_dpo_pairs_validation.jsonl", "orca-dpo", 284, 284, {}, 0),
    ("stackexchange/beer.stackexchange.com_Posts.xml", "stackexchange", 644, 644, {}, 0),
    ("stackexchange/coffee.stackexchange.com_Posts.xml", "stackexchange", 212, 212, {}, 0),
    ("eval/self_instruct/user_oriented_instructions.jsonl", "self-instruct", 252, 252, {}, 0),
    ("eval/alpaca_eval/gpt4/model_outputs.json", "alpaca", 805, 805, {}, 0),
    ("eval/alpaca_eval/text_davinci_003/model_outputs.json", "alpaca", 803, 803, EMPTY2, 0),
    (f"{MT}/question.jsonl {MT}/model_answer/gpt-4.jsonl", "mt-bench", 80, 80, {}, 0),
    (f"{MT}/question.jsonl {MT}/model_answer/gpt-3.5-turbo.jsonl", "mt-bench", 80, 80, {}, 0),
    (f"{MT}/question.jsonl {MT}/model_answer/claude-v1.jsonl", "mt-bench", 80, 80, {}, 0),
    (f"{MT}/question.jsonl {MT}/reference_answer/gpt-4.jsonl", "mt-bench", 30, 30, {}, 0),
    (f"{VB}/question.jsonl {VB}/reference_answer/gpt-4.jsonl", "mt-bench", 10, 10, {}, 0),
    (f"{VB}/legacy_eval_table/question.jsonl {VB}/legacy_eval_table/answer_gpt35.jsonl",
     "mt-bench", 80, 80, {}, 0),
]  # fmt: skip


@pytest.mark.parametrize(("files", "fmt", "first", "every", "dropped", "dups"), FILES)
def test_shared_file_builds_with_expected_counts(files, fmt, first, every, dropped, dups):
    paths = [SHARED / f for f in files.split()]
    build = build_pool(paths)  # the default fail mode: empty responses are dropped, not errors
    assert set(build.formats.values()) == {fmt}
    assert (len(build.pool), build.problems, build.dropped) == (first, {}, dropped)
    assert build.duplicates == dups
    assert len(build_pool(paths, all_turns=True).pool) == every


def test_real_alpaca_file_builds_with_its_empty_responses_counted(tmp_path, cli):
    path = SHARED / "alpaca/alpaca_5000.json"
    out = tmp_path / "pool.parquet"
    code, stdout, stderr = cli("pool", "build", path, "-o", out)
    assert code == 0, stderr
    assert "dropped 2 unusable examples: empty response 2" in stderr
    assert "dropped 0 exact duplicates" in stderr
    assert "wrote 4998 examples" in stdout and out.exists()


def test_an_evaluation_set_keeps_failing_on_an_empty_reference():
    path = SHARED / "alpaca/alpaca_5000.json"
    records = json.loads(path.read_text())
    first_empty = next(i for i, r in enumerate(records) if not r["output"].strip()) + 1
    with pytest.raises(InputError) as caught:
        build_pool(path, drop_empty=False)
    assert str(caught.value) == f"{path}:1: record {first_empty}: empty response"


def test_alpaca_samples_overlap_as_documented():
    """SOURCES.md: 5000 and 9229 share 875 records, 13,354 distinct; dedup must agree."""
    names = ["alpaca_5000", "alpagasus_random_9k", "alpagasus_claude_t45"]
    paths = [SHARED / "alpaca" / f"{n}.json" for n in names]
    two = build_pool(paths[:2], on_error="skip")
    assert len(two.pool) + sum(two.dropped.values()) + two.duplicates == 5000 + 9229
    # one of the 875 shared records has an empty output: dropped twice instead of deduplicated,
    # so 6 dropped records are 5 distinct ones
    assert two.duplicates == 875 - 1 and len(two.pool) == 13354 - 5
    records = {
        (r["instruction"], r["input"], r["output"])
        for p in paths
        for r in json.loads(p.read_text())
    }
    answered = {r for r in records if r[2].strip()}
    assert len(build_pool(paths, on_error="skip").pool) == len(answered) == 17300


def test_all_instruction_files_together():
    names = [f for f, *_ in FILES[:11]]
    build = build_pool([SHARED / f for f in names], on_error="skip")
    assert build.pool["id"].is_unique
    assert build.pool["source"].nunique() == 11
    assert len(build.pool) + build.duplicates == sum(
        first + dups for _, _, first, _, _, dups in FILES[:11]
    )


def test_koala_and_wizardlm_have_no_responses():
    for rel in ("eval/koala/koala_test_set.jsonl", "eval/wizardlm/wizardlm_test_set.jsonl"):
        with pytest.raises(Exception, match="no known format matches"):
            build_pool(SHARED / rel)
