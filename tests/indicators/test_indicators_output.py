"""indicators.parquet carries its columns' provenance, and `fit` copies it into the rule."""

from __future__ import annotations

from pathlib import Path

from instructmining.cli import main
from instructmining.rule.table import _definitions


def test_cli_output_holds_definitions_that_fit_reads(tmp_path: Path, sample_pool) -> None:
    pool_path = tmp_path / "pool.parquet"
    sample_pool.to_parquet(pool_path, index=False)
    out = tmp_path / "indicators.parquet"
    assert main(["indicators", str(pool_path), "-o", str(out), "--indicators", "mtld,knn"]) == 0
    definitions = _definitions(out, ["mtld"])
    assert definitions["mtld"]["column"] == "mtld"
    assert definitions["mtld"]["indicator"] == "mtld"
    assert "version" in definitions["mtld"]
