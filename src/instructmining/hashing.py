"""Content hashes that are the same on every machine: ids of examples, configs and inputs."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any


def stable_json(obj: Any) -> str:
    """Canonical JSON: sorted keys, no whitespace, so equal objects hash equally."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def hash_object(obj: Any, length: int = 16) -> str:
    """Hex SHA-256 prefix of an object's canonical JSON."""
    return hashlib.sha256(stable_json(obj).encode("utf-8")).hexdigest()[:length]


def hash_file(path: str | Path, length: int = 16) -> str:
    """Hex SHA-256 prefix of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:length]
