"""Rebuild the small test samples in this folder from the full files in ../shared/data.

Run from the repository root: `.venv/bin/python tests/data/make_samples.py`. Records are copied
unchanged, except for the formats with no real file there, which are built by moving real
records into that format's field names (see ATTRIBUTION.md). The output is deterministic.
"""

from __future__ import annotations

import gzip
import json
from collections import defaultdict
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

HERE = Path(__file__).resolve().parent
SHARED = HERE.parents[1] / ".." / "shared" / "data"


def load_json(rel: str) -> list:
    return json.loads((SHARED / rel).read_text(encoding="utf-8"))


def load_jsonl(rel: str) -> list:
    lines = (SHARED / rel).read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def write(rel: str, text: str) -> None:
    path = HERE / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    data = text.encode("utf-8")
    if rel.endswith(".gz"):
        data = gzip.compress(data, mtime=0)
    path.write_bytes(data)


def json_array(records: list) -> str:
    return json.dumps(records, ensure_ascii=False, indent=2) + "\n"


def jsonl(records: list) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)


def oasst_threads(rows: list) -> list[list[dict]]:
    """For each root prompt, the conversation that follows the best-ranked reply at each step."""
    children = defaultdict(list)
    for row in rows:
        if not row["deleted"]:
            children[row["parent_id"]].append(row)
    threads = []
    for root in children[None]:
        thread, node = [root], root
        while children[node["message_id"]]:
            node = min(
                children[node["message_id"]],
                key=lambda m: (m["rank"] is None, m["rank"] or 0, m["message_id"]),
            )
            thread.append(node)
        if len(thread) >= 2:
            threads.append(thread)
    return threads


def main() -> None:
    alpaca = load_json("alpaca/alpaca_5000.json")
    write("alpaca/alpaca_5000_sample.json", json_array(alpaca[:120]))
    alpaca_eval = load_json("eval/alpaca_eval/gpt4/model_outputs.json")
    write("alpaca/alpaca_eval_gpt4_sample.json.gz", json_array(alpaca_eval[:60]))

    dolly = load_json("dolly/alpagasus_dolly_3k.json")
    write("dolly/alpagasus_dolly_3k_sample.json", json_array(dolly[:60]))
    original = [
        {
            "instruction": r["instruction"],
            "context": r["input"],
            "response": r["output"],
            "category": r["category"],
        }
        for r in dolly[60:120]
    ]
    write("dolly/dolly_original_fields_sample.jsonl", jsonl(original))

    rows = load_jsonl("oasst1/oasst1_validation_en.jsonl")
    trees = list(dict.fromkeys(r["message_tree_id"] for r in rows))[:12]
    write(
        "oasst/oasst1_validation_en_sample.jsonl.gz",
        jsonl([r for r in rows if r["message_tree_id"] in trees[:12]]),
    )
    write("oasst/oa_en_100_tree_sample.jsonl", jsonl(load_jsonl("oasst1/oa_en_100_tree.jsonl")[:8]))

    threads = oasst_threads(rows)[20:60]
    speaker = {"prompter": "human", "assistant": "gpt"}
    sharegpt = [
        {
            "id": t[0]["message_tree_id"],
            "conversations": [{"from": speaker[m["role"]], "value": m["text"]} for m in t],
        }
        for t in threads
    ]
    write("sharegpt/sharegpt_from_oasst1_sample.json", json_array(sharegpt))

    dpo = load_jsonl("openorca/orca_dpo_pairs_validation.jsonl")
    write("orca_dpo/orca_dpo_pairs_sample.jsonl", jsonl(dpo[:40]))
    role = {"prompter": "user", "assistant": "assistant"}
    messages = [{"messages": r["input"]["messages"] + r["preferred_output"]} for r in dpo[100:125]]
    messages += [
        {"messages": [{"role": role[m["role"]], "content": m["text"]} for m in t]}
        for t in oasst_threads(rows)[60:80]
    ]
    write("messages/messages_sample.jsonl", jsonl(messages))
    orca = []
    for i, r in enumerate(dpo[40:90], start=40):
        system, user = r["input"]["messages"]
        orca.append(
            {
                "id": f"orca_dpo_pairs_validation.{i}",
                "system_prompt": system["content"],
                "question": user["content"],
                "response": r["preferred_output"][0]["content"],
            }
        )
    pq.write_table(pa.Table.from_pylist(orca), HERE / "openorca/openorca_fields_sample.parquet")

    write(
        "self_instruct/user_oriented_instructions_sample.jsonl",
        jsonl(load_jsonl("eval/self_instruct/user_oriented_instructions.jsonl")[:40]),
    )
    questions = load_jsonl("eval/mt_bench/question.jsonl")[:20]
    asked = {q["question_id"] for q in questions}
    answers = [
        a for a in load_jsonl("eval/mt_bench/model_answer/gpt-4.jsonl") if a["question_id"] in asked
    ]
    write("mt_bench/question.jsonl", jsonl(questions))
    write("mt_bench/model_answer/gpt-4.jsonl", jsonl(answers))
    legacy = "eval/vicuna_bench/legacy_eval_table"
    write("vicuna_legacy/question.jsonl", jsonl(load_jsonl(f"{legacy}/question.jsonl")[:10]))
    write(
        "vicuna_legacy/answer_gpt35.jsonl", jsonl(load_jsonl(f"{legacy}/answer_gpt35.jsonl")[:10])
    )

    lima = load_json("lima/lima.json")
    multi = [r for r in lima if r["history"]][:10]
    write("lima/lima_sample.json", json_array(lima[:40] + multi))

    write_posts_sample()


def write_posts_sample() -> None:
    """The first 30 questions of the coffee dump with all their answers, rows copied verbatim."""
    import re

    lines = (
        (SHARED / "stackexchange/coffee.stackexchange.com_Posts.xml")
        .read_text(encoding="utf-8-sig")
        .splitlines()
    )
    questions = [
        m.group(1) for m in (re.search(r'Id="(\d+)" PostTypeId="1"', x) for x in lines) if m
    ][:30]
    keep = set(questions)
    rows = [
        x
        for x in lines
        if (m := re.search(r'<row Id="(\d+)" PostTypeId="(\d)"(?: ParentId="(\d+)")?', x))
        and (m.group(1) in keep or m.group(3) in keep)
    ]
    write(
        "stackexchange/coffee_Posts_sample.xml", "\n".join([*lines[:2], *rows, "</posts>"]) + "\n"
    )


if __name__ == "__main__":
    main()
