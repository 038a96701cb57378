"""Bad input: `FILE:LINE: problem`, exit code 2 and no output (fail mode); counts (skip mode)."""

from __future__ import annotations

import gzip
import json

import pytest
from data_stage_paths import SAMPLES

GOOD = {"instruction": "Name a colour.", "input": "", "output": "Blue."}


def _jsonl(path, lines: list[bytes | str | dict]) -> None:
    """Write lines: dicts as JSON, str as given, bytes raw (for invalid UTF-8)."""
    parts = []
    for i, line in enumerate(lines):
        if isinstance(line, dict):
            line = json.dumps({**line, "instruction": f"{line['instruction']} #{i}"})
        parts.append(line if isinstance(line, bytes) else line.encode("utf-8"))
    path.write_bytes(b"\n".join(parts) + b"\n")


BAD_LINES = {
    "malformed JSON": ('{"instruction": "x", "output": ', "malformed JSON"),
    "missing field": ({"instruction": "Say hi."}, "missing field 'output'"),
    "wrong type": ({"instruction": "Count.", "output": 3}, "field 'output' should be a string"),
    "invalid UTF-8": (b'{"instruction": "caf\xe9", "output": "x"}', "invalid UTF-8 (byte 0xe9)"),
}


@pytest.mark.parametrize("kind", sorted(BAD_LINES))
def test_bad_jsonl_line_fails_with_file_and_line(tmp_path, cli, kind):
    bad, message = BAD_LINES[kind]
    data = tmp_path / "data.jsonl"
    _jsonl(data, [GOOD, GOOD, bad, GOOD])
    out = tmp_path / "ws" / "pool.parquet"
    code, stdout, stderr = cli("pool", "build", data, "-o", out)
    assert code == 2
    error = stderr.strip().splitlines()[-1]
    assert error.startswith(f"error: {data}:3: {message}")
    assert error.endswith("(--on-error skip skips and counts such records)")
    assert "Traceback" not in stderr
    assert not out.exists() and not (tmp_path / "ws").exists()


# Unusable examples, not malformed files: dropped and counted in either mode.
EMPTY_LINES = [
    {"instruction": "Say nothing.", "output": " \r\n\t "},
    '{"instruction": "  ", "output": "x"}',
]


def test_bad_records_are_skipped_and_counted(tmp_path, cli):
    data = tmp_path / "data.jsonl"
    lines = [GOOD, *(BAD_LINES[k][0] for k in sorted(BAD_LINES)), *EMPTY_LINES, GOOD, GOOD]
    _jsonl(data, lines)
    out = tmp_path / "pool.parquet"
    code, stdout, stderr = cli("pool", "build", data, "-o", out, "--on-error", "skip")
    assert code == 0
    assert (
        "skipped 4 bad records: invalid UTF-8 1, malformed JSON 1, missing field 1, wrong type 1"
    ) in stderr
    assert "dropped 2 unusable examples: empty instruction 1, empty response 1" in stderr
    assert "wrote 3 examples" in stdout
    assert out.exists()


def test_empty_responses_are_dropped_and_counted_by_default(tmp_path, cli):
    data = tmp_path / "data.jsonl"
    _jsonl(data, [GOOD, *EMPTY_LINES, GOOD, dict(GOOD, instruction="Name a colour.")])
    out = tmp_path / "pool.parquet"
    code, stdout, stderr = cli("pool", "build", data, "-o", out)
    assert code == 0, stderr
    assert "dropped 2 unusable examples: empty instruction 1, empty response 1" in stderr
    assert "wrote 3 examples" in stdout


def test_exact_duplicates_are_counted(tmp_path, cli):
    data = tmp_path / "data.jsonl"
    data.write_text((json.dumps(GOOD) + "\n") * 3)
    code, stdout, stderr = cli("pool", "build", data, "-o", tmp_path / "pool.parquet")
    assert code == 0 and "dropped 2 exact duplicates" in stderr and "wrote 1 examples" in stdout


def _pretty_array(tmp_path, records: list) -> tuple:
    path = tmp_path / "data.json"
    text = json.dumps(records, indent=2)
    path.write_text(text)
    return path, text


def test_json_array_errors_name_the_element_line(tmp_path, cli):
    records = [dict(GOOD, instruction=f"Colour {i}") for i in range(5)]
    records[3]["output"] = 7
    path, text = _pretty_array(tmp_path, records)
    line = text[: text.index('"Colour 3"')].count("\n")  # the line of the element's '{'
    code, _, stderr = cli("pool", "build", path, "-o", tmp_path / "pool.parquet")
    assert code == 2
    assert f"error: {path}:{line}: record 4: field 'output' should be a string" in stderr


def test_truncated_json_array(tmp_path, cli):
    sample = (SAMPLES / "alpaca/alpaca_5000_sample.json").read_text()
    cut = sample[: sample.index('"instruction"', len(sample) // 2) + 30]
    path = tmp_path / "cut.json"
    path.write_text(cut)
    out = tmp_path / "pool.parquet"
    code, _, stderr = cli("pool", "build", path, "-o", out)
    assert code == 2
    line = cut[: cut.rindex("{")].count("\n") + 1
    assert f"error: {path}:{line}: truncated JSON array (record " in stderr
    assert not out.exists()
    code, stdout, stderr = cli("pool", "build", path, "-o", out, "--on-error", "skip")
    assert code == 0 and "truncated JSON array 1" in stderr
    assert f"wrote {cut.count('{') - 1} examples" in stdout


def test_array_without_closing_bracket(tmp_path, cli):
    path = tmp_path / "open.json"
    text = json.dumps([GOOD], indent=2)[:-1]
    path.write_text(text)
    last = text.rstrip().count("\n") + 1  # the last line with content
    code, _, stderr = cli("pool", "build", path, "-o", tmp_path / "p.parquet")
    assert code == 2 and f"{path}:{last}: truncated JSON array (no closing ']')" in stderr


def test_malformed_element_in_array(tmp_path, cli):
    path = tmp_path / "bad.json"
    path.write_text(
        '[\n  {"instruction": "a", "output": "b"},\n  {"instruction": "c" "output": "d"}\n]'
    )
    code, _, stderr = cli("pool", "build", path, "-o", tmp_path / "p.parquet")
    assert code == 2 and f"{path}:3: record 2: malformed JSON (Expecting ',' delimiter)" in stderr


def test_invalid_utf8_in_array_names_its_line(tmp_path, cli):
    path = tmp_path / "latin1.json"
    text = json.dumps([GOOD, dict(GOOD, output="café")], indent=2, ensure_ascii=False)
    path.write_bytes(text.encode("latin-1"))
    line = text[: text.index("café")].count("\n") + 1
    code, _, stderr = cli("pool", "build", path, "-o", tmp_path / "p.parquet")
    assert code == 2 and f"{path}:{line}: invalid UTF-8 (byte 0xe9)" in stderr
    code, stdout, stderr = cli(
        "pool", "build", path, "-o", tmp_path / "p.parquet", "--on-error", "skip"
    )
    assert code == 0 and "invalid UTF-8 1" in stderr and "wrote 1 examples" in stdout


def test_gzip_and_plain_give_the_same_pool(tmp_path):
    from instructmining.data import read_examples

    plain = SAMPLES / "alpaca/alpaca_5000_sample.json"
    packed = tmp_path / "alpaca_5000_sample.json.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    assert read_examples(packed).equals(read_examples(plain))


def test_truncated_gzip_is_one_line(tmp_path, cli):
    packed = tmp_path / "data.jsonl.gz"
    packed.write_bytes(gzip.compress(b'{"instruction": "a", "output": "b"}\n' * 50)[:40])
    code, _, stderr = cli("pool", "build", packed, "-o", tmp_path / "p.parquet")
    assert code == 2 and stderr.strip() == f"error: {packed}: truncated gzip file"


def test_unknown_format_suggests_the_closest(tmp_path, cli):
    code, _, stderr = cli(
        "pool", "build", SAMPLES / "alpaca/alpaca_5000_sample.json", "-o", tmp_path / "p.parquet",
        "--format", "alpacca",
    )  # fmt: skip
    assert code == 2 and "unknown format 'alpacca'; did you mean 'alpaca'?" in stderr


def test_file_matching_no_format_names_the_file(tmp_path, cli):
    path = tmp_path / "koala.jsonl"
    path.write_text('{"id": "koala_0", "prompt": "List films."}\n')
    code, _, stderr = cli("pool", "build", path, "-o", tmp_path / "p.parquet")
    assert code == 2
    assert stderr.strip().startswith(f"error: {path}: no known format matches its records")
    assert len(stderr.strip().splitlines()) == 1


def test_wrong_format_named_reports_the_missing_field(tmp_path, cli):
    sample = SAMPLES / "sharegpt/sharegpt_from_oasst1_sample.json"
    code, _, stderr = cli(
        "pool", "build", sample, "-o", tmp_path / "p.parquet", "--format", "alpaca"
    )
    assert code == 2 and f"{sample}:2: record 1: missing field 'instruction'" in stderr


def test_missing_file_and_bad_on_error(tmp_path, cli):
    code, _, stderr = cli("pool", "build", tmp_path / "nope.json", "-o", tmp_path / "p.parquet")
    assert code == 2 and f"{tmp_path / 'nope.json'}: no such file" in stderr
    code, _, stderr = cli(
        "pool", "build", SAMPLES / "lima/lima_sample.json", "-o", tmp_path / "p.parquet",
        "--on-error", "ignore",
    )  # fmt: skip
    assert code == 2 and "--on-error must be fail or skip" in stderr


def test_conversation_without_assistant_turn(tmp_path, cli):
    path = tmp_path / "chat.jsonl"
    path.write_text(json.dumps({"messages": [{"role": "user", "content": "hi"}]}) + "\n")
    code, _, stderr = cli("pool", "build", path, "-o", tmp_path / "p.parquet")
    assert code == 2
    assert f"{path}:1: no user turn followed by an assistant turn" in stderr


def test_everything_skipped_is_an_error(tmp_path, cli):
    path = tmp_path / "empty_outputs.jsonl"
    _jsonl(path, [dict(GOOD, output=""), dict(GOOD, output=" ")])
    code, _, stderr = cli("pool", "build", path, "-o", tmp_path / "p.parquet", "--on-error", "skip")
    assert code == 2 and "no examples in" in stderr and "(2 records skipped or empty)" in stderr
    assert not (tmp_path / "p.parquet").exists()


def test_malformed_xml_names_its_line(tmp_path, cli):
    lines = (SAMPLES / "stackexchange/coffee_Posts_sample.xml").read_text().splitlines()
    broken = [*lines[:5], lines[5].replace('Score="', "Score=", 1), *lines[6:]]
    path = tmp_path / "Posts.xml"
    path.write_text("\n".join(broken) + "\n")
    code, _, stderr = cli("pool", "build", path, "-o", tmp_path / "p.parquet")
    assert code == 2 and stderr.startswith(f"error: {path}:6: malformed XML (")
    cut = tmp_path / "cut_Posts.xml"
    cut.write_text("\n".join(lines[:20]) + "\n")
    code, _, stderr = cli("pool", "build", cut, "-o", tmp_path / "p.parquet")
    assert code == 2 and f"{cut}:21: malformed XML (no element found" in stderr
