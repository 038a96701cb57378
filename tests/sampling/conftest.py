"""A helper that runs the CLI in-process."""

from __future__ import annotations

import pytest

from instructmining.cli import main


@pytest.fixture
def cli(capsys):
    """Run `instructmining ARGS...`; returns (exit code, stdout, stderr)."""

    def run(*args: object) -> tuple[int, str, str]:
        code = main([str(a) for a in args])
        out = capsys.readouterr()
        return code, out.out, out.err

    return run
