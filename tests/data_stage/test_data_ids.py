"""Content ids: normalised, stable across runs and machines, and the key for deduplication."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys

import pyarrow.parquet as pq
from data_stage_paths import SAMPLES

from instructmining.data import POOL_COLUMNS, build_pool, example_id, normalise_text, read_examples

ALPACA = SAMPLES / "alpaca/alpaca_5000_sample.json"


def test_normalisation():
    assert normalise_text("  a\r\nb\rc \n") == "a\nb\nc"
    assert normalise_text("cafe\u0301") == "caf\u00e9"  # NFD -> NFC


def test_id_is_the_documented_hash():
    first = json.loads(ALPACA.read_text())[0]
    expected = hashlib.sha256(
        json.dumps(
            [first["instruction"], first["input"], first["output"]],
            ensure_ascii=False,
            separators=(",", ":"),
        ).encode("utf-8")
    ).hexdigest()[:16]
    pool = read_examples(ALPACA)
    assert pool.iloc[0]["id"] == expected == "58ccbd5a77e44e14"
    assert example_id("Name a colour.", "", "Blue.") == "fcb008de08be8721"


def test_id_ignores_source_system_and_formatting_but_not_content(tmp_path):
    rows = [
        {"instruction": "Name a colour.", "output": "Blue.", "system": "Be brief."},
        {"instruction": "  Name a colour.\r\n", "input": "", "output": "Blue.  "},
        {"instruction": "Name a colour.", "input": "", "output": "Red."},
    ]
    path = tmp_path / "x.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    build = build_pool(path, source="elsewhere")
    assert build.duplicates == 1
    assert build.pool["id"].tolist() == [
        example_id("Name a colour.", "", "Blue."),
        example_id("Name a colour.", "", "Red."),
    ]
    assert build.pool["system"].tolist() == ["Be brief.", ""]  # the first occurrence is kept


def test_ids_are_the_same_in_another_process():
    script = (
        "from instructmining.data import read_examples; import sys; "
        "print(','.join(read_examples(sys.argv[1])['id']))"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    other = subprocess.run(
        [sys.executable, "-c", script, str(ALPACA)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert other.stdout.strip().split(",") == read_examples(ALPACA)["id"].tolist()


def test_duplicates_across_files_are_dropped_and_counted(tmp_path, cli):
    out = tmp_path / "pool.parquet"
    code, stdout, stderr = cli("pool", "build", ALPACA, ALPACA, "-o", out)
    assert code == 0
    assert "dropped 120 exact duplicates" in stderr
    assert "wrote 120 examples from 1 source(s)" in stdout
    table = pq.read_table(out)
    assert table.column_names == [*POOL_COLUMNS, "messages"]
    assert all(str(t) == "string" for t in table.schema.types)


def test_source_defaults_to_the_file_stem_and_can_be_set(tmp_path, cli):
    gz = SAMPLES / "alpaca/alpaca_eval_gpt4_sample.json.gz"
    pool = build_pool([ALPACA, gz]).pool
    assert sorted(pool["source"].unique()) == ["alpaca_5000_sample", "alpaca_eval_gpt4_sample"]
    out = tmp_path / "pool.parquet"
    code, _, stderr = cli("pool", "build", ALPACA, gz, "-o", out, "--source", "alpaca")
    assert code == 0
    assert f"{ALPACA}: format alpaca (detected)" in stderr
    assert set(pq.read_table(out).column("source").to_pylist()) == {"alpaca"}
