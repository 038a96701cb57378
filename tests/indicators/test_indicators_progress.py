"""Output read from a file or a CI log: plain progress lines, no third-party bars or load
reports (unless --verbose), nothing with --quiet, and a --log-file with the lines."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import instructmining

SRC = Path(instructmining.__file__).parents[1]


def _run(*args: object, interval: str = "0") -> subprocess.CompletedProcess:
    """The CLI in a child process with stdout and stderr to pipes (not a terminal)."""
    env = dict(os.environ, PYTHONPATH=str(SRC), INSTRUCTMINING_PROGRESS_INTERVAL=interval)
    code = "from instructmining.cli import entrypoint; entrypoint()"
    return subprocess.run(
        [sys.executable, "-c", code, *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )


@pytest.fixture
def pool_file(tmp_path, sample_pool):
    path = tmp_path / "pool.parquet"
    sample_pool.to_parquet(path, index=False)
    return path


def test_non_terminal_output_has_progress_lines_and_no_third_party_bars(
    tmp_path, pool_file, tiny_reward_model
):
    out = tmp_path / "ind.parquet"
    args = ["indicators", pool_file, "-o", out, "--indicators", "reward,mtld"]
    done = _run(*args, "--reward-model", tiny_reward_model, "--cache-dir", tmp_path / "c")
    assert done.returncode == 0, done.stderr
    text = done.stdout + done.stderr
    n = len(pd_ids(pool_file))
    assert f"reward: {n}/{n} ex (100%)" in text and " ex/s, elapsed " in text and "eta" in text
    assert f"mtld: 0/{n} ex (0%)" in text  # the line that starts a stage
    assert "Loading weights" not in text and "LOAD REPORT" not in text and "\r" not in text
    verbose = _run(
        "--verbose", *args, "--reward-model", tiny_reward_model, "--cache-dir", tmp_path / "e"
    )
    assert verbose.returncode == 0 and "Loading weights" in verbose.stderr


def test_quiet_and_log_file(tmp_path, pool_file):
    log = tmp_path / "logs" / "run.log"
    out = tmp_path / "ind.parquet"
    args = [
        "indicators",
        pool_file,
        "-o",
        out,
        "--indicators",
        "mtld",
        "--cache-dir",
        tmp_path / "c",
    ]
    done = _run("--quiet", "--log-file", log, *args)
    assert done.returncode == 0, done.stderr
    n = len(pd_ids(pool_file))
    assert f"mtld: {n}/{n}" not in done.stderr
    assert f"mtld: {n}/{n} ex (100%)" in log.read_text()
    bad = _run("--log-file", log, "indicators", tmp_path / "nope.parquet", "-o", out)
    assert bad.returncode == 2 and "nope.parquet: no such file" in log.read_text().splitlines()[-1]


def pd_ids(path: Path) -> list[str]:
    import pandas as pd

    return list(pd.read_parquet(path)["id"])


# What transformers' and huggingface_hub's own bars write (#28): none may reach a log.
FOREIGN_BARS = ("Converting and de-quantizing", "Loading weights", "Writing model shards", "it/s]")


def _assert_no_foreign_bars(text: str) -> None:
    assert "\r" not in text
    for bar in FOREIGN_BARS:
        assert bar not in text, bar


def test_the_python_api_is_as_quiet_as_a_command(tmp_path, pool_file, tiny_reward_model):
    """`import instructmining as im` never calls configure_output: the loaders turn the other
    libraries' bars off themselves."""
    code = (
        "import sys, pandas as pd, instructmining as im\n"
        "options = im.IndicatorOptions(reward_model=sys.argv[2], device='cpu')\n"
        "table = im.compute_indicators(pd.read_parquet(sys.argv[1]), 'reward', options,"
        " cache_dir=sys.argv[3])\n"
        "print('rewards', int(table['reward'].notna().sum()))\n"
    )
    args = [pool_file, tiny_reward_model, tmp_path / "c"]
    # A command run earlier in this process set the libraries' own switches in its environment.
    switches = ("HF_HUB_DISABLE_PROGRESS_BARS", "TRANSFORMERS_VERBOSITY")
    env = {k: v for k, v in os.environ.items() if k not in switches}
    env.update(PYTHONPATH=str(SRC), INSTRUCTMINING_PROGRESS_INTERVAL="0")
    done = subprocess.run(
        [sys.executable, "-c", code, *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    n = len(pd_ids(pool_file))
    assert f"rewards {n}" in done.stdout
    assert f"reward: {n}/{n} ex (100%)" in done.stderr  # our own lines stay
    _assert_no_foreign_bars(done.stdout + done.stderr)


@pytest.mark.slow
def test_the_bundled_gguf_is_converted_once_per_cache_and_not_for_lengths(
    tmp_path, sample_pool, monkeypatch
):
    """With an empty cache (a fresh machine, CI): a length-only selection reads the tokenizer
    from the GGUF file and converts nothing; the first ppl run converts under our own progress
    line; a later run reuses the conversion. No run writes a third-party bar into its output."""
    import pandas as pd

    cache = tmp_path / "empty-cache"
    cache.mkdir()
    monkeypatch.setenv("INSTRUCTMINING_CACHE", str(cache))
    pool = tmp_path / "pool.parquet"
    sample_pool.head(4).to_parquet(pool, index=False)
    converting = "converting SmolLM2-135M-Instruct.Q4_1.gguf to safetensors (once per cache)"

    picked = tmp_path / "picked.jsonl"
    done = _run("select", pool, "--selector", "length", "--top", "2", "-o", picked)
    assert done.returncode == 0, done.stderr
    _assert_no_foreign_bars(done.stdout + done.stderr)
    assert converting not in done.stderr
    assert not list(cache.rglob("*.safetensors")) and not list(cache.rglob("config.json"))

    first = tmp_path / "ppl.parquet"
    done = _run("indicators", pool, "-o", first, "--indicators", "ppl", "--cache", tmp_path / "a")
    assert done.returncode == 0, done.stderr
    _assert_no_foreign_bars(done.stdout + done.stderr)
    assert f"{converting}: " in done.stderr and " tensors (100%)" in done.stderr
    assert len(list(cache.glob("gguf/*/model.safetensors"))) == 1

    again = tmp_path / "again.parquet"
    args = ["--indicators", "length,ppl", "--cache", tmp_path / "b"]
    done = _run("indicators", pool, "-o", again, *args)
    assert done.returncode == 0, done.stderr
    _assert_no_foreign_bars(done.stdout + done.stderr)
    assert converting not in done.stderr
    again = pd.read_parquet(again).set_index("id")
    pd.testing.assert_series_equal(again["ppl"], pd.read_parquet(first).set_index("id")["ppl"])
    # The GGUF file's own tokenizer counts as the converted one does (length scores -tokens).
    scores = pd.read_parquet(tmp_path / "picked.scores.parquet").set_index("id")["score"]
    assert (-scores == again.loc[scores.index, "output_len"]).all()
