"""The YAML run config: valid configs load, bad ones fail with one line naming the key."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest

from instructmining.cli import main
from instructmining.errors import UserError
from instructmining.pipeline.config import load_config

MINIMAL = """
workspace: ws
pool:
  files:
    - {path: data/pool.jsonl}
experiments:
  eval: {path: data/eval.jsonl}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_minimal_config_gets_defaults_and_its_folder(tmp_path: Path) -> None:
    config, base = load_config(write(tmp_path, MINIMAL))
    assert base == tmp_path.resolve()
    assert config.sampling.subsets == 24
    assert config.indicators.names == ["length", "mtld", "ppl", "ifd", "knn"]
    assert config.select is None and config.compare is None


@pytest.mark.parametrize("name", ["demo.yaml", "demo-quick.yaml"])
def test_bundled_demo_configs_are_valid_and_their_files_exist(name: str) -> None:
    with resources.as_file(resources.files("instructmining.demo") / name) as path:
        config, base = load_config(path)
    for spec in config.pool.files:
        for item in [spec.path] if isinstance(spec.path, str) else spec.path:
            assert (base / item).is_file(), item
    assert config.compare is not None and config.compare.seeds >= 2
    # Both evaluation sets are recorded per run; the fit takes their mean where they disagree.
    assert config.experiments.test_eval is not None
    assert config.experiments.test_eval.name == "mt_bench" and config.fit.target == "auto"


def test_fit_target_and_weights_and_test_set_name(tmp_path: Path) -> None:
    text = MINIMAL + (
        "  test_eval: {path: data/mt.jsonl, name: mt_bench}\n"
        "fit: {target: mean, weights: {fit: 2, mt_bench: 1}}\n"
    )
    config, _ = load_config(write(tmp_path, text))
    assert config.fit.target == "mean" and config.fit.weights == {"fit": 2.0, "mt_bench": 1.0}
    assert config.experiments.test_eval.name == "mt_bench"
    assert load_config(write(tmp_path, MINIMAL))[0].fit.target == "fit"
    with pytest.raises(UserError, match="experiments.test_eval.name: String should match"):
        load_config(write(tmp_path, MINIMAL + "  test_eval: {path: x, name: 'mt bench'}\n"))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (MINIMAL + "colour: blue\n", "unknown key 'colour'"),
        (MINIMAL + "sampling: {subsets: 0}\n", "sampling.subsets: Input should be greater than 0"),
        (MINIMAL + "sampling: {size: -3}\n", "sampling.size: Input should be greater than 0"),
        (MINIMAL + "fit: {model: forest}\n", "fit.model: Input should be 'ols'"),
        (
            MINIMAL + "sampling: {subsets: many}\n",
            "sampling.subsets: Input should be a valid integer",
        ),
        (MINIMAL.replace("experiments:\n  eval: {path: data/eval.jsonl}\n", ""), "experiments:"),
        (
            MINIMAL.replace("- {path: data/pool.jsonl}", "[]").replace("files:\n", "files: "),
            "pool.files: List should have at least 1 item",
        ),
        ("- just\n- a list\n", "expected a mapping"),
        (MINIMAL + "indicators: {names: [length, lenght]}\n", "did you mean"),
        (MINIMAL + "search: {min: 50, max: 10}\n", "search: min (50) must be below"),
        ("pool: {files: [\n", ":2: expected the node content"),
        (MINIMAL + "sampling: {subsets: 2, subsets: 3}\n", ":8: key 'subsets' is given twice"),
        (MINIMAL + "colour: 1\ncolour: 2\n", ":9: key 'colour' is given twice"),
        (MINIMAL + "sampling: {subsets: true}\n", "sampling.subsets: expected a number, not"),
        (MINIMAL + "sampling: {alpha: .inf}\n", "sampling.alpha: Input should be a finite"),
        (MINIMAL + "sampling: {seed: -1}\n", "sampling.seed: Input should be greater than or"),
        (MINIMAL.replace("pool:\n", "pool:\n  seed: -1\n"), "pool.seed: Input should be greater"),
        (
            MINIMAL.replace("eval.jsonl}", "eval.jsonl}\n  overrides: {lr: -1}"),
            "experiments.overrides.lr: Input should be greater than 0",
        ),
        (
            MINIMAL.replace("eval.jsonl}", "eval.jsonl}\n  overrides: {learning_rate: 1}"),
            "experiments.overrides.learning_rate: Extra inputs are not permitted",
        ),
    ],
)
def test_bad_configs_name_the_key(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(UserError) as info:
        load_config(write(tmp_path, text))
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_booleans_stay_allowed_for_switches(tmp_path: Path) -> None:
    config, _ = load_config(write(tmp_path, MINIMAL + "report: false\n"))
    assert config.report is False


def test_cli_run_with_bad_config_exits_2_and_writes_nothing(tmp_path: Path, capsys) -> None:
    path = write(tmp_path, MINIMAL + "colour: blue\n")
    assert main(["run", str(path), "-o", str(tmp_path / "ws")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown key 'colour'" in err
    assert not (tmp_path / "ws").exists()


def test_missing_config_file(tmp_path: Path, capsys) -> None:
    assert main(["run", str(tmp_path / "nope.yaml")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_paper_example_config_is_valid() -> None:
    path = Path(__file__).resolve().parents[2] / "examples" / "paper.yaml"
    config, _ = load_config(path)
    assert config.sampling.subsets == 129 and config.sampling.size == 1000
    assert config.experiments.preset == "paper"
    assert config.indicators.reward_model == "OpenAssistant/oasst-rm-2.1-pythia-1.4b-epoch-2.5"
