"""`select --where/--dedup/--diversity` and the Python API `select`/`write_selection`."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import instructmining as im
from instructmining.cli import main
from instructmining.errors import UserError
from instructmining.selection.dedup import find_duplicates
from instructmining.selection.diversity import diverse_walk
from instructmining.selection.filters import SelectFilters, rank_pool
from instructmining.selection.where import parse_where


@pytest.fixture
def table() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    n = 200
    ifd = rng.uniform(0.2, 1.4, n)
    ifd[::17] = np.nan  # examples without a value
    return pd.DataFrame(
        {
            "ifd": ifd,
            "output_len": rng.integers(1, 60, n),
            "reward": rng.normal(0, 1, n),
            "source": rng.choice(["alpaca", "dolly", "stackexchange"], n),
        }
    )


# Each condition with the same filter written directly in pandas.
CONDITIONS = [
    ("ifd < 1 and output_len > 20", lambda t: (t.ifd < 1) & (t.output_len > 20)),
    ('source != "stackexchange"', lambda t: t.source != "stackexchange"),
    ("source == 'dolly' or reward >= 0.5", lambda t: (t.source == "dolly") | (t.reward >= 0.5)),
    ("not (ifd >= 1) and source != 'alpaca'", lambda t: ~(t.ifd >= 1) & (t.source != "alpaca")),
    ("0.5 <= ifd < 1", lambda t: (t.ifd >= 0.5) & (t.ifd < 1)),
    (
        "(reward > -1 or ifd <= 0.3) and output_len != 7",
        lambda t: ((t.reward > -1) | (t.ifd <= 0.3)) & (t.output_len != 7),
    ),  # fmt: skip
    ("ifd > -1e3 and 30 > output_len", lambda t: (t.ifd > -1000) & (t.output_len < 30)),
]


@pytest.mark.parametrize(("text", "expected"), CONDITIONS)
def test_where_matches_pandas_filtering(table, text, expected) -> None:
    mask = parse_where(text).mask(table)
    np.testing.assert_array_equal(mask, expected(table).to_numpy())
    assert 0 < mask.sum() < len(table)  # each condition keeps some and drops some


INJECTIONS = [
    "__import__('os').system('touch pwned')",
    "__import__('os')",
    "ifd.__class__ == 1",
    "open('x') == 1",
    "ifd < (lambda: 1)()",
    "[c for c in ()] == 1",
    "ifd < 1; import os",
    "ifd + 1 > 2",
    "ifd[0] < 1",
    "ifd in (1, 2)",
    "ifd is None",
    "ifd",
    "source < 'm'",
    "",
]


@pytest.mark.parametrize("text", INJECTIONS)
def test_where_refuses_everything_outside_the_whitelist(text, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UserError) as caught:
        parse_where(text)
    assert "`where`" in str(caught.value) and "\n" not in str(caught.value)
    assert list(tmp_path.iterdir()) == []


def test_where_names_an_unknown_column_and_those_available(table) -> None:
    with pytest.raises(UserError, match=r"unknown column 'ifdd' \(columns: ifd, output_len"):
        parse_where("ifdd < 1").mask(table)


def test_where_refuses_text_against_numbers(table) -> None:
    with pytest.raises(UserError, match="'source' holds text"):
        parse_where("source > 3").mask(table)
    with pytest.raises(UserError, match="'ifd' holds numbers"):
        parse_where("ifd == 'high'").mask(table)


def _pool(texts: list[tuple[str, str]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": [f"e{i}" for i in range(len(texts))],
            "source": "s",
            "instruction": [t[0] for t in texts],
            "input": "",
            "output": [t[1] for t in texts],
            "system": "",
        }
    )


LONG = (
    "Explain how a four stroke petrol engine works, covering the intake, compression, power "
    "and exhaust strokes, the role of the spark plug, the valves and the crankshaft"
)


def test_exact_dedup_keeps_the_best_ranked_copy() -> None:
    pool = _pool(
        [
            ("Name a colour.", "Blue"),
            ("name a colour", "blue!"),  # the same after normalising case and punctuation
            ("Name a fruit.", "Apple"),
            ("NAME  a colour.", "Blue."),
        ]
    )
    ordered = pool.iloc[[2, 3, 0, 1]]  # the ranking: e2 best, then e3, e0, e1
    assert find_duplicates(ordered, "exact") == {"e0": "e3", "e1": "e3"}


def test_minhash_dedup_drops_near_duplicates_at_the_threshold() -> None:
    near = LONG.replace("petrol", "gasoline")  # one word of 29 changed
    pool = _pool([(LONG, "It burns fuel."), (near, "It burns fuel."), ("Say hi.", "Hi")])
    assert find_duplicates(pool, "exact") == {}
    assert find_duplicates(pool, "minhash", 0.5) == {"e1": "e0"}
    assert find_duplicates(pool.iloc[[1, 0, 2]], "minhash", 0.5) == {"e0": "e1"}
    assert find_duplicates(pool, "minhash", 0.99) == {}


def test_diversity_keeps_examples_pairwise_farther_than_the_threshold() -> None:
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(6, 16))
    # Four noisy copies of each of six directions, shuffled: the walk must keep about one each.
    vectors = np.repeat(centres, 4, axis=0) + rng.normal(scale=0.05, size=(24, 16))
    vectors = vectors[rng.permutation(24)]
    vectors = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
    threshold = 0.2
    kept, nearest, walked = diverse_walk(vectors, threshold)
    chosen = vectors[kept]
    distance = 1 - chosen @ chosen.T
    assert (distance[~np.eye(len(chosen), dtype=bool)] > threshold).all()
    assert walked == 24 and len(chosen) == 6
    for i in np.flatnonzero(~kept):  # each refused one is too close to an earlier kept one
        assert nearest[i] < i and kept[nearest[i]]
        assert 1 - vectors[i] @ vectors[nearest[i]] <= threshold
    kept3, _, walked3 = diverse_walk(vectors, threshold, limit=3)
    assert kept3.sum() == 3 and (kept3 == (kept & (np.arange(24) < walked3))).all()


@pytest.fixture
def ws(tmp_path) -> Path:
    n = 30
    rng = np.random.default_rng(1)
    texts = [(f"Write item {i % 20} of the list", f"Item {i % 20} is here") for i in range(n)]
    pool = _pool(texts).assign(source=["alpaca"] * 20 + ["dolly"] * 10)
    indicators = pd.DataFrame(
        {"id": pool["id"], "reward": rng.normal(0, 1, n), "output_len": rng.integers(1, 60, n)}
    )
    root = tmp_path / "ws"
    root.mkdir()
    pool.to_parquet(root / "pool.parquet", index=False)
    indicators.to_parquet(root / "indicators.parquet", index=False)
    return root


def test_select_where_and_dedup_on_the_command_line(ws) -> None:
    out = ws / "sel.jsonl"
    args = ["select", ws / "pool.parquet", "--selector", "reward", "--top", "4", "-o", out]
    assert main([*map(str, args), "--where", "output_len > 10", "--dedup", "exact"]) == 0
    pool, ind = pd.read_parquet(ws / "pool.parquet"), pd.read_parquet(ws / "indicators.parquet")
    frame = pool.merge(ind, on="id").sort_values(["reward", "id"], ascending=[False, True])
    frame = frame[frame["output_len"] > 10]
    frame = frame.drop_duplicates(["instruction", "output"])  # keeps the first: best reward
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in records] == list(frame["id"].head(4))
    assert [r["rank"] for r in records] == [1, 2, 3, 4]
    scores = pd.read_parquet(ws / "sel.scores.parquet")
    assert len(scores) == 30 and scores["rank"].notna().sum() == len(frame)
    dropped = scores[scores["excluded"] == "duplicate"]
    assert len(dropped) and set(dropped["near"]) <= set(frame["id"])
    assert (scores.loc[scores["excluded"].notna(), "selected"] == False).all()  # noqa: E712
    assert set(scores.loc[scores["excluded"] == "where", "id"]) == set(
        ind.loc[ind["output_len"] <= 10, "id"]
    )


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--where", "__import__('os').system('touch pwned')"], "a call"),
        (["--where", "ifd.real < 1"], "an attribute"),
        (["--where", "nope > 1"], "--where names unknown column 'nope' (columns: source,"),
        (["--where", "ifd <"], "is not a valid condition"),
        (["--dedup", "fuzzy"], "--dedup must be one of exact, minhash"),
        (["--dedup", "minhash", "--dedup-threshold", "1.5"], "--dedup-threshold must lie in"),
        (["--dedup", "minhash", "--dedup-threshold", "-0.1"], "--dedup-threshold must lie in"),
        (["--diversity", "--diversity-threshold", "2.5"], "--diversity-threshold must lie in"),
        (["--where", "output_len > 50", "--top", "29"], "--where dropped"),
    ],
)
def test_bad_filters_exit_2_with_nothing_written(ws, capsys, monkeypatch, args, message) -> None:
    monkeypatch.chdir(ws)
    before = _digest(ws)
    out = ws / "sel.jsonl"
    top = [] if "--top" in args else ["--top", "3"]
    cmd = ["select", str(ws / "pool.parquet"), "--selector", "reward", *top, *args, "-o", str(out)]
    assert main(cmd) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and err.count("\n") == 1, err
    assert _digest(ws) == before  # nothing written, no input changed


def test_the_api_returns_values_and_ranks_and_writes_them(ws, tmp_path) -> None:
    pool, ind = pd.read_parquet(ws / "pool.parquet"), pd.read_parquet(ws / "indicators.parquet")
    table = im.select(
        pool, top=5, selector="reward", indicators=ind, where="output_len > 5", dedup="exact"
    )
    assert len(table) == len(pool)
    assert list(table.columns[:8]) == [
        "id", "source", "reward", "output_len", "score", "rank", "selected", "excluded",
    ]  # fmt: skip
    merged = table.merge(ind, on="id", suffixes=("", "_given"))
    np.testing.assert_array_equal(merged["reward"], merged["reward_given"])
    ranked = table[table["rank"].notna()]
    assert list(ranked["rank"]) == list(range(1, len(ranked) + 1))
    assert ranked["reward"].is_monotonic_decreasing
    assert table["selected"].sum() == 5 and table["selected"].head(5).all()
    assert (table.loc[table["excluded"] == "where", "output_len"] <= 5).all()
    out = tmp_path / "api.jsonl"
    im.write_selection(table, out)
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in records] == list(table["id"].head(5))
    assert pd.read_parquet(tmp_path / "api.scores.parquet")["selected"].sum() == 5


def test_the_api_refuses_bad_filters_before_any_work(ws) -> None:
    pool = pd.read_parquet(ws / "pool.parquet")
    with pytest.raises(UserError, match="`dedup_threshold` must lie in"):
        im.select(pool, top=3, selector="random", dedup="minhash", dedup_threshold=2)
    with pytest.raises(UserError, match="unknown column 'colour'"):
        im.select(pool, top=3, selector="random", where="colour == 'red'")


def test_yaml_select_section_takes_the_same_keys(tmp_path) -> None:
    from instructmining.pipeline.config import SelectConfig, load_config

    base = "pool: {files: [{path: p.jsonl}]}\nexperiments: {eval: {path: e.jsonl}}\n"
    good = base + "select: {top: 5, where: 'ifd < 1', dedup: minhash, diversity: true}\n"
    (tmp_path / "c.yaml").write_text(good, encoding="utf-8")
    filters = load_config(tmp_path / "c.yaml")[0].select.filters()
    assert filters == SelectFilters("ifd < 1", "minhash", 0.8, True, 0.1)
    assert SelectConfig().filters() == SelectFilters()  # one set of defaults
    (tmp_path / "c.yaml").write_text(base + "select: {top: 5, where: 'len(x) > 1'}\n")
    with pytest.raises(UserError, match="select.where"):
        load_config(tmp_path / "c.yaml")


@pytest.mark.slow
def test_diversity_with_the_bundled_embedder_drops_a_paraphrase(tmp_path, capfd) -> None:
    pool = im.build_pool(im.demo_data("dolly_3k.json.gz")).pool.head(6).reset_index(drop=True)
    copy = pool.iloc[[0]].assign(id="copy", output=lambda f: f["output"] + " Indeed.")
    pool = pd.concat([pool, copy], ignore_index=True)
    capfd.readouterr()
    table = im.select(
        pool, selector="length", diversity=True, diversity_threshold=0.05, cache_dir=tmp_path
    )
    dropped = table[table["excluded"] == "diversity"]
    original, twin = pool["id"][0], "copy"
    assert set(dropped["id"]) & {original, twin} and len(dropped) == 1
    assert set(dropped["near"]) == {original, twin} - set(dropped["id"])
    assert capfd.readouterr().err == ""  # quiet: no model library's bars
    spread = SelectFilters(diversity=True, diversity_threshold=0.05)
    again, _ = rank_pool(pool, "length", None, spread, cache_dir=tmp_path, progress=False)
    assert list(again["id"]) == list(table["id"])  # from the cache, the same walk


def test_the_pipelines_select_stage_applies_the_yaml_filters(ws, tmp_path) -> None:
    from instructmining.pipeline.config import load_config
    from instructmining.pipeline.run import Pipeline
    from instructmining.rule import load_rule
    from instructmining.workspace import Workspace

    ind = pd.read_parquet(ws / "indicators.parquet").assign(knn6=0.5)
    ind.to_parquet(ws / "indicators.parquet", index=False)
    Workspace(ws).rule.write_text(json.dumps(load_rule("paper-v1").to_dict()), encoding="utf-8")
    config = tmp_path / "run.yaml"
    config.write_text(
        "pool: {files: [{path: p.jsonl}]}\nexperiments: {eval: {path: e.jsonl}}\n"
        "select: {top: 3, where: 'output_len > 10', dedup: exact}\n",
        encoding="utf-8",
    )
    cfg, base = load_config(config)
    Pipeline(cfg, base, ws).select()
    scores = pd.read_parquet(Workspace(ws).selection)
    dropped = set(scores.loc[scores["excluded"] == "where", "id"])
    assert dropped == set(ind.loc[ind["output_len"] <= 10, "id"])
    assert (scores["excluded"] == "duplicate").any()
    chosen = scores[scores["selected"]]
    assert len(chosen) == 3 and chosen["excluded"].isna().all()
