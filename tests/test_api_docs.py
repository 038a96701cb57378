"""The script in docs/api.md runs as written, on a tiny random model, through the public API."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

import instructmining

ROOT = Path(__file__).resolve().parents[1]


def api_script() -> str:
    text = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert len(blocks) == 1, "docs/api.md should hold one python block: the whole loop"
    return blocks[0]


def test_public_api_is_lazy_and_complete() -> None:
    for name in instructmining.__all__:
        assert getattr(instructmining, name) is not None, name
    assert "run" in dir(instructmining)
    assert set(instructmining.__all__) == {"__version__", *instructmining._EXPORTS}


def test_api_script_runs_the_whole_loop(tmp_path, tiny_model, monkeypatch, capsys) -> None:
    script = api_script()
    model_line = 'BASE_MODEL = "smollm2-135m-instruct"'
    ws_line = 'Path("api-workspace")'
    assert model_line in script and ws_line in script
    assert "tests/" not in script  # the package's own data: it runs without a checkout
    script = script.replace(model_line, f"BASE_MODEL = {str(tiny_model)!r}")
    script = script.replace(ws_line, f"Path({str(tmp_path / 'ws')!r})")
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    assert ROOT not in outside.resolve().parents
    monkeypatch.chdir(outside)  # as a user would run it: away from the repository
    scope: dict = {}
    exec(compile(script, "docs/api.md", "exec"), scope)  # noqa: S102 - our own documentation
    summary = scope["summary"]
    assert isinstance(summary, pd.DataFrame)
    assert set(summary["selector"]) == {"rule", "random"}
    assert len(scope["selected"]) == 8
    assert (scope["runs"]["status"] == "ok").all()
    assert not (ROOT / "api-workspace").exists() and list(outside.iterdir()) == []
    table = scope["table"]
    chosen = table[table["selected"]]
    assert len(chosen) == 8 and list(chosen["rank"]) == list(range(1, 9))
    assert chosen[list(scope["fit"].rule.indicators)].notna().all().all()
    assert (tmp_path / "ws" / "selected.jsonl").read_text().count("\n") == 8
    assert "log L" in capsys.readouterr().out or scope["fit"].rule.indicators
