"""Paths of the real sample records used by the experiments tests (see data/SOURCES.md)."""

from pathlib import Path

DATA = Path(__file__).parent / "data"
DOLLY = DATA / "dolly_sample.json"
SELF_INSTRUCT = DATA / "self_instruct_sample.jsonl"
