"""`instructmining select`, `search` and `compare` on the command line."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from instructmining.cli import main


@pytest.fixture
def ws(tmp_path):
    n = 40
    rng = np.random.default_rng(0)
    pool = pd.DataFrame(
        {
            "id": [f"e{i:02d}" for i in range(n)],
            "source": ["alpaca"] * 30 + ["dolly"] * 10,
            "instruction": [f"do {i}" for i in range(n)],
            "input": "",
            "output": [f"done {i}" for i in range(n)],
            "system": "",
        }
    )
    indicators = pd.DataFrame(
        {
            "id": pool["id"],
            "reward": rng.normal(0, 1, n),
            "output_len": rng.integers(10, 500, n),
            "knn6": rng.uniform(0.2, 0.9, n),
        }
    )
    root = tmp_path / "ws"
    root.mkdir()
    pool.to_parquet(root / "pool.parquet", index=False)
    indicators.to_parquet(root / "indicators.parquet", index=False)
    return root


def test_select_with_a_published_rule(ws, capsys):
    out = ws / "selected.jsonl"
    rc = main(
        ["select", str(ws / "pool.parquet"), "--rule", "paper-v1", "--top", "10", "-o", str(out)]
    )
    assert rc == 0
    printed = capsys.readouterr().out
    assert "Selected 10 of 40 by rule" in printed and "alpaca" in printed and "dolly" in printed
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(records) == 10
    ind = pd.read_parquet(ws / "indicators.parquet")
    score = 1.0694 - 0.1498 * ind["reward"] + 8.257e-5 * ind["output_len"] - 0.9350 * ind["knn6"]
    expected = ind.assign(score=score).sort_values(["score", "id"])["id"].head(10)
    assert [r["id"] for r in records] == list(expected)
    table = pd.read_parquet(ws / "selected.scores.parquet")
    assert table["selected"].sum() == 10 and len(table) == 40


def test_select_fraction_and_baseline(ws):
    out = ws / "by_reward.jsonl"
    args = ["select", str(ws / "pool.parquet"), "--selector", "reward", "--fraction", "0.25"]
    assert main([*args, "-o", str(out)]) == 0
    ids = [json.loads(line)["id"] for line in out.read_text().splitlines()]
    ind = pd.read_parquet(ws / "indicators.parquet")
    assert ids == list(ind.sort_values("reward", ascending=False)["id"].head(10))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--rule", "paper-v1", "--top", "0"], "--top must be a positive"),
        (["--rule", "paper-v1", "--top", "41"], "exceeds the pool of 40"),
        (["--rule", "paper-v1", "--fraction", "1.5"], "--fraction must lie in (0, 1]"),
        (["--rule", "paper-v1"], "exactly one of --top"),
        (["--rule", "nope.json", "--top", "3"], "nope.json: no such rule file"),
        (["--selector", "rewrd", "--top", "3"], "did you mean 'reward'"),
        (["--top", "3"], "needs a rule"),
    ],
)
def test_select_errors_exit_2(ws, capsys, args, message):
    out = ws / "selected.jsonl"
    assert main(["select", str(ws / "pool.parquet"), *args, "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and err.count("\n") == 1
    assert not out.exists() and not (ws / "selected.scores.parquet").exists()


def test_select_missing_pool_exits_2(tmp_path, capsys):
    out = tmp_path / "s.jsonl"
    assert main(["select", str(tmp_path / "pool.parquet"), "--top", "1", "-o", str(out)]) == 2
    assert "no such file" in capsys.readouterr().err


def test_search_and_compare_argument_errors_exit_2(ws, capsys):
    assert main(["search", str(ws), "--min", "2", "--max", "5"]) == 2
    assert "needs --rule" in capsys.readouterr().err
    assert main(["search", str(ws), "--rule", "paper-v1", "--min", "2", "--max", "50"]) == 2
    assert "exceeds the pool of 40" in capsys.readouterr().err
    assert main(["compare", str(ws), "--rule", "paper-v1", "--n", "5", "--baselines", "rewrd"]) == 2
    assert "did you mean 'reward'" in capsys.readouterr().err
    assert main(["compare", str(ws), "--n", "5"]) == 2
    assert "needs --rule" in capsys.readouterr().err
    assert main(["search", str(ws), "--rule", "paper-v1", "--min", "2", "--max", "5"]) == 2
    assert "no evaluation set recorded (experiment.json); pass --eval" in capsys.readouterr().err
    missing = str(ws / "nope.json")
    assert main(["compare", str(ws), "--rule", "paper-v1", "--n", "5", "--eval", missing]) == 2
    assert "nope.json: no such evaluation file" in capsys.readouterr().err


def _need_indicators_stage():
    indicators = pytest.importorskip("instructmining.indicators")
    if not hasattr(indicators, "compute_indicators"):
        pytest.skip("indicators stage not installed")


def test_published_rule_options_name_the_paper_models():
    _need_indicators_stage()
    from instructmining.rule import load_rule
    from instructmining.selection.select import indicator_options

    options = indicator_options(load_rule("paper-v1"))
    assert options.reward_model == "OpenAssistant/oasst-rm-2.1-pythia-1.4b-epoch-2.5"
    assert options.embedder == "sentence-transformers/all-MiniLM-L6-v2" and options.k == 6
    assert indicator_options(load_rule("paper-v1"), reward_model="rm-x").reward_model == "rm-x"


def test_unloadable_indicator_model_exits_2_naming_it(ws, capsys, monkeypatch):
    _need_indicators_stage()
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    table = pd.read_parquet(ws / "indicators.parquet").drop(columns=["reward"])
    table.to_parquet(ws / "indicators.parquet", index=False)
    out = ws / "selected.jsonl"
    args = ["select", str(ws / "pool.parquet"), "--rule", "paper-v1", "--top", "5"]
    assert main([*args, "-o", str(out)]) == 2
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]  # the progress bar may leave \n
    assert len(lines) == 1 and lines[0].startswith("error: rule paper-v1 needs models")
    assert (
        "reward needs the reward model OpenAssistant/oasst-rm-2.1-pythia-1.4b-epoch-2.5" in lines[0]
    )
    assert "set --reward-model" in lines[0]
    assert not out.exists()


def test_published_rules_offline_name_each_indicator_model_and_flag(ws, capsys, monkeypatch):
    _need_indicators_stage()
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    (ws / "indicators.parquet").unlink()
    out = ws / "selected.jsonl"
    for rule, wanted in {
        "paper-v1": [
            "reward needs the reward model OpenAssistant/oasst-rm-2.1-pythia-1.4b-epoch-2.5",
            "set --reward-model",
            "output_len needs the tokenizer meta-llama/Llama-2-7b-hf",
            "set --length-tokenizer",
        ],
        "paper-v3": [
            "unieval_und needs the UniEval model MingZhong/unieval-dialog",
            "set --unieval-model",
            "set --reward-model",
        ],
    }.items():
        args = ["select", ws / "pool.parquet", "--rule", rule, "--top", "5", "-o", out]
        assert main([str(a) for a in args]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and all(w in err for w in wanted), err
        assert "knn6 needs" not in err  # the bundled embedder loads offline
    assert not out.exists()


def _fitted_rule(ws, p, cv_r2, mixture=None):
    from instructmining.rule import Rule

    info = {"fit": {"permutation_p": p, "cv_r2": cv_r2}}
    if mixture:
        info["mixture"] = {"best_mixture": mixture}
    rule = Rule("rule", "ols", ["reward"], 1.0, {"reward": -0.1}, info=info)
    path = ws / f"rule_{p}_{cv_r2}.json"
    path.write_text(json.dumps(rule.to_dict()))
    return str(path)


@pytest.mark.parametrize(("p", "cv_r2"), [(0.3, 0.2), (0.01, -0.05)])
def test_select_warns_about_a_rule_not_better_than_chance(ws, capsys, p, cv_r2):
    args = ["select", str(ws / "pool.parquet"), "--top", "5", "-o", str(ws / "s.jsonl")]
    assert main([*args, "--rule", _fitted_rule(ws, p, cv_r2)]) == 0
    err = capsys.readouterr().err
    assert f"permutation p = {p:.3g}" in err and f"CV R² = {cv_r2:.3f}" in err
    assert main([*args, "--rule", _fitted_rule(ws, p, cv_r2), "--force"]) == 0
    assert "warning" not in capsys.readouterr().err
    assert main([*args, "--rule", _fitted_rule(ws, 0.01, 0.2)]) == 0
    assert "warning" not in capsys.readouterr().err
    assert main([*args, "--rule", "paper-v1", "--force"]) == 0
    assert "published rule" in capsys.readouterr().out  # exempt, and says so


def test_mixture_selector_draws_the_predicted_best_mixture(ws):
    rule = _fitted_rule(ws, 0.01, 0.2, mixture={"alpaca": 0.5, "dolly": 0.5})
    out = ws / "mix.jsonl"
    args = ["select", str(ws / "pool.parquet"), "--rule", rule, "--selector", "mixture"]
    assert main([*args, "--top", "10", "-o", str(out)]) == 0
    sources = [json.loads(line)["source"] for line in out.read_text().splitlines()]
    assert sources.count("alpaca") == 5 and sources.count("dolly") == 5
