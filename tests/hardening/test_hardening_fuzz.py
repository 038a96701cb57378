"""Random records and random bytes fed to `pool build`: exit code 0 or 2, never a traceback,
never a partial output file (hypothesis)."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from hardening_helpers import error_line, leftovers, run_cli
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from instructmining.data.example import POOL_COLUMNS
from instructmining.storage import read_parquet

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)
# Records shaped like the formats' fields, with values of any JSON type: these reach the
# converters rather than stopping at format detection.
FIELDS = st.sampled_from(
    ["instruction", "input", "output", "response", "context", "messages", "conversations",
     "role", "content", "from", "value", "text", "question", "system_prompt", "id"]
)  # fmt: skip
SHAPED = st.dictionaries(FIELDS, JSON | st.text(max_size=30), max_size=5)
SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)


def _check(data: bytes, name: str, *options: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        source = folder / name
        source.write_bytes(data)
        out = folder / "ws" / "pool.parquet"
        code, _, stderr = run_cli(["pool", "build", str(source), "-o", str(out), *options])
        assert code in (0, 2), stderr
        assert "Traceback" not in stderr
        assert leftovers(folder) == []
        if code == 2:
            assert error_line(stderr)
            assert not out.exists()
        else:
            assert len(read_parquet(out, required=POOL_COLUMNS)) > 0


@SETTINGS
@given(st.lists(JSON, max_size=6), st.sampled_from(["fail", "skip"]))
def test_random_json_lines(values, on_error):
    data = "\n".join(json.dumps(v) for v in values).encode()
    _check(data, "records.jsonl", "--on-error", on_error)


@SETTINGS
@given(st.lists(SHAPED, min_size=1, max_size=6), st.sampled_from(["fail", "skip"]))
def test_random_shaped_records(records, on_error):
    _check(json.dumps(records).encode(), "records.json", "--on-error", on_error)


@SETTINGS
@given(st.lists(SHAPED, min_size=1, max_size=4), st.sampled_from(
    ["alpaca", "dolly", "sharegpt", "messages", "oasst", "openorca", "lima", "self-instruct"]
))  # fmt: skip
def test_random_records_with_a_named_format(records, format):
    data = "\n".join(json.dumps(r) for r in records).encode()
    _check(data, "records.jsonl", "--format", format)


@SETTINGS
@given(st.binary(max_size=2000), st.sampled_from(["data.jsonl", "data.json", "data.jsonl.gz",
                                                   "data.parquet", "Posts.xml"]))  # fmt: skip
def test_random_bytes(data, name):
    _check(data, name)
