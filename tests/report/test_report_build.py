"""The report from a full, a partial and a damaged workspace, through the API and the CLI."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
from report_workspace import NASTY, build_workspace

from instructmining.cli import main
from instructmining.report import build_report
from instructmining.report.sections import SECTIONS
from instructmining.storage import write_parquet

IMAGE_SECTIONS = {"distributions", "correlations", "runs", "fit", "coefficients", "ablation",
                  "eval-sets", "search", "compare"}  # fmt: skip


def sections_of(html: str) -> dict[str, str]:
    """Section id -> the HTML of that section."""
    parts = re.findall(r'<section><h2 id="([^"]+)">.*?</h2>(.*?)</section>', html, re.S)
    return dict(parts)


@pytest.fixture(scope="module")
def full_ws(tmp_path_factory) -> Path:
    return build_workspace(tmp_path_factory.mktemp("full"))


@pytest.fixture
def ws(full_ws: Path, tmp_path: Path) -> Path:
    """A private copy of the full workspace, for tests that change it."""
    return Path(shutil.copytree(full_ws, tmp_path / "ws"))


@pytest.fixture(scope="module")
def full_report(full_ws: Path, tmp_path_factory) -> str:
    out = build_report(full_ws, tmp_path_factory.mktemp("out") / "report.html")
    return out.read_text(encoding="utf-8")


def test_every_section_has_its_heading_and_image(full_report: str) -> None:
    sections = sections_of(full_report)
    assert list(sections) == [s.id for s in SECTIONS]
    for sid, body in sections.items():
        assert "not computed yet" not in body, sid
        if sid in IMAGE_SECTIONS:
            assert '<img src="data:image/png;base64,' in body, sid


def test_report_is_self_contained(full_report: str) -> None:
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", full_report)
    assert "<link" not in full_report
    assert not re.search(r"<script[^>]*\ssrc=", full_report)
    assert "url(" not in full_report


def test_example_text_is_escaped(full_report: str) -> None:
    assert NASTY not in full_report
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; &lt;b&gt;" in full_report


def test_report_numbers(full_report: str) -> None:
    sections = sections_of(full_report)
    assert "3.1" in sections["summary"]  # base model eval loss
    assert "rule − random at n = 100" in sections["summary"]
    assert "eval_hash: e7a1" in sections["summary"]  # what the rule was fitted on
    assert "VIF above 5" in sections["coefficients"]  # the fit kept the collinear reward pair
    assert "reward_copy" in sections["correlations"]  # listed as a highly correlated pair


def test_fit_r2_matches_the_rule(full_ws: Path, full_report: str) -> None:
    """The report's own predictions reproduce the R² of the OLS fit it was given."""
    r2 = json.loads((full_ws / "rule.json").read_text())["fit"]["r2"]
    html = full_report
    shown = re.search(r"R² of these points: ([0-9]+\.[0-9]+)", sections_of(html)["fit"]).group(1)
    assert float(shown) == pytest.approx(r2, abs=1e-3)


def test_partial_workspace_gives_notes(full_ws: Path, tmp_path: Path) -> None:
    partial = tmp_path / "partial"
    partial.mkdir()
    shutil.copy(full_ws / "pool.parquet", partial)
    html = build_report(partial, partial / "report.html").read_text()
    sections = sections_of(html)
    assert list(sections) == [s.id for s in SECTIONS]
    assert "<img" not in html
    assert "300 examples from 3 sources" in sections["summary"]
    expected = {
        "distributions": "instructmining indicators", "correlations": "instructmining indicators",
        "runs": "instructmining experiment", "fit": "instructmining fit",
        "coefficients": "instructmining fit", "ablation": "instructmining fit",
        "search": "instructmining search", "compare": "instructmining compare",
        "examples": "instructmining select",
    }  # fmt: skip
    for sid, command in expected.items():
        assert f"not computed yet: run <code>{command}</code>" in sections[sid], sid


def test_damaged_table_is_reported_not_fatal(ws: Path) -> None:
    (ws / "runs.parquet").write_bytes(b"not parquet")
    (ws / "rule.json").write_text("{broken")
    write_parquet(pd.DataFrame({"trial": [0], "n": [10]}), ws / "search.parquet")
    sections = sections_of(build_report(ws, ws / "report.html").read_text())
    assert "runs.parquet could not be read" in sections["runs"]
    assert "rule.json could not be read" in sections["coefficients"]
    assert "missing column(s) eval_loss" in sections["search"]
    assert "<img" in sections["distributions"]  # the rest still renders


def test_published_rule_without_statistics(ws: Path) -> None:
    """A rule given as bare numbers with a statsmodels-style "const" still predicts."""
    rule = {"coefficients": {"const": 1.05, "reward": -0.02, "mtld": -0.002}}
    (ws / "rule.json").write_text(json.dumps(rule))
    sections = sections_of(build_report(ws, ws / "report.html").read_text())
    assert "log L = 1.05 − 0.02·reward − 0.002·mtld" in sections["fit"]
    assert "<img" in sections["fit"]
    assert "rule.json has no ablation table" in sections["ablation"]


def test_cli_writes_report(ws: Path, tmp_path: Path) -> None:
    assert main(["report", str(ws)]) == 0
    assert (ws / "report.html").exists()
    out = tmp_path / "elsewhere" / "r.html"
    assert main(["report", str(ws), "-o", str(out)]) == 0
    assert out.read_text().startswith("<!DOCTYPE html>")
    assert out.read_bytes() == (ws / "report.html").read_bytes()  # same tables, same page


def test_cli_missing_workspace_is_one_line(tmp_path: Path, capsys) -> None:
    out = tmp_path / "r.html"
    assert main(["report", str(tmp_path / "nope"), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.strip() == f"error: {tmp_path / 'nope'}: no such workspace folder"
    assert not out.exists()


STAGES = ["pool.parquet", "indicators.parquet", "subsets.parquet", "runs.parquet", "rule.json",
          "selected.scores.parquet", "search.parquet", "compare.parquet"]  # fmt: skip


@pytest.mark.parametrize("done", range(len(STAGES) + 1))
def test_each_stage_of_the_loop_reports(full_ws: Path, tmp_path: Path, done: int) -> None:
    """A workspace part-way through the loop reports what it has and notes the rest."""
    ws = tmp_path / "ws"
    ws.mkdir()
    for name in STAGES[:done]:
        shutil.copy(full_ws / name, ws)
    html = build_report(ws, ws / "report.html").read_text()
    for name in STAGES[done:]:
        assert f"{name}: not computed yet" in html
    assert html.count("<img") == [0, 0, 2, 2, 4, 8, 8, 9, 10][done]


def test_gradient_boosted_rule_is_applied(ws: Path) -> None:
    """A gbm rule has no linear coefficients: its trees predict, the OLS table still shows."""
    from instructmining.rule import fit_rule, load_fit_table
    from instructmining.storage import write_json

    write_json(fit_rule(load_fit_table(ws), model="gbm").rule.to_dict(), ws / "rule.json")
    sections = sections_of(build_report(ws, ws / "report.html").read_text())
    assert "<img" in sections["fit"] and "R² of these points" in sections["fit"]
    assert "Least-squares fit on the same indicators" in sections["coefficients"]


def test_eval_sets_section_shows_agreement_transfer_and_sources(full_report: str) -> None:
    body = sections_of(full_report)["eval-sets"]
    assert "The rule predicts the log loss on fit." in body
    assert "Agreement between evaluation sets" in body and "95% CI low" in body
    assert "&quot;Good data&quot; differs between fit and mtbench" in body
    assert "<h3>Transfer</h3>" in body and "<h3>Per source</h3>" in body
    assert body.count('<img src="data:image/png;base64,') == 2  # agreement and transfer


def test_mean_target_rule_is_shown_against_its_own_target(ws: Path) -> None:
    from instructmining.rule import fit_rule, load_fit_table
    from instructmining.storage import write_json

    data = load_fit_table(ws, target="mean", weights={"fit": 3, "mtbench": 1})
    write_json(fit_rule(data).rule.to_dict(), ws / "rule.json")
    sections = sections_of(build_report(ws, ws / "report.html").read_text(encoding="utf-8"))
    assert "mean of standardised log losses: fit 0.75, mtbench 0.25" in sections["eval-sets"]
    assert (
        "<code>z = " in sections["fit"] and "its measured mean of standardised" in sections["fit"]
    )
    r2 = float(re.search(r"R² of these points: (-?[0-9.]*[0-9])", sections["fit"]).group(1))
    assert r2 > 0.5  # predictions are on the target's scale, not the log loss's
    assert "mean of standardised log losses" in sections["summary"]


def test_eval_sets_section_with_one_set_says_how_to_add_one(ws: Path) -> None:
    runs = pd.read_parquet(ws / "runs.parquet").drop(columns="test_loss__mtbench")
    write_parquet(runs, ws / "runs.parquet")
    (ws / "rule.json").unlink()
    body = sections_of(build_report(ws, ws / "report.html").read_text(encoding="utf-8"))
    assert "one evaluation set with runs" in body["eval-sets"]
    assert "--test-eval NAME=FILE" in body["eval-sets"]


def test_report_opens_with_the_verdict_and_its_figures(ws: Path) -> None:
    from instructmining.report.html import esc
    from instructmining.rule.verdict import rule_verdict
    from instructmining.storage import write_json

    rule = json.loads((ws / "rule.json").read_text())
    summary = pd.DataFrame(
        [
            {"eval_set": "holdout", "selector": "rule", "runs": 3, "mean": 2.6, "sd": 0.01},
            {"eval_set": "holdout", "selector": "random", "runs": 3, "mean": 2.7, "sd": 0.01,
             "diff": -0.1, "diff_low": -0.12, "diff_high": -0.08, "p": 0.01,
             "method": "paired t over seeds", "boot_low": -0.15, "boot_high": -0.05},
        ]
    )  # fmt: skip
    write_parquet(summary, ws / "compare_summary.parquet")
    write_json({"fit_ids": ["a", "b"], "holdout_ids": ["c"], "seed": 0}, ws / "holdout.json")
    write_json({"contaminated": 2, "exact": 1, "near": 1, "dropped": True}, ws / "overlap.json")
    long = pd.read_parquet(ws / "compare.parquet").rename(columns={"test_loss__mtbench": "mt"})
    long = pd.concat(
        [
            long.assign(eval_set="fit", subset_id="s")[["selector", "seed", "n", "eval_set",
                                                        "eval_loss", "subset_id"]],
            long.assign(eval_set="mt_bench", eval_loss=long["mt"], subset_id="s")[
                ["selector", "seed", "n", "eval_set", "eval_loss", "subset_id"]],
        ]
    )  # fmt: skip
    write_parquet(long, ws / "compare.parquet")
    search = pd.read_parquet(ws / "search.parquet")
    write_parquet(search.assign(holdout_loss=search["eval_loss"] + 0.05), ws / "search.parquet")
    html = build_report(ws, ws / "report.html").read_text()
    sections = sections_of(html)
    assert list(sections)[0] == "verdict"
    verdict = sections["verdict"]
    assert esc(rule_verdict(rule, summary.to_dict("records"))) in verdict
    assert "on the held-out items its selection beats random" in verdict.lower()
    assert "permutation p" in verdict and "CV Spearman" in verdict
    assert "mixture rule" in verdict and "1 of 3 (seed 0)" in verdict
    assert "2 (1 exact, 1 near; dropped)" in verdict
    assert "bootstrap low (items + seeds)" in verdict and "t low (seeds)" in verdict
    assert "test_loss__mt_bench" in sections["compare"]  # one column per evaluation set
    assert "loss on the held-out items" in sections["search"]


def test_each_statistic_is_explained_where_it_is_shown(full_report: str) -> None:
    from instructmining.report.explain import MEANINGS
    from instructmining.report.html import esc
    from instructmining.rule.verdict import DECIDING_INTERVAL

    sections = sections_of(full_report)
    shown = {
        "verdict": ["CV R²"],
        "summary": ["R²", "CV R²"],
        "runs": ["subset spread", "seed noise"],
        "fit": ["R²", "adjusted R²", "CV R²"],
        "coefficients": ["SE", "p", "VIF", "standardised"],
        "ablation": ["adjusted R²", "CV R²"],
        "correlations": ["Spearman"],
        "eval-sets": ["Spearman", "bootstrap over subsets"],
        "compare": ["Student t CI", "paired t", "p of a difference"],
    }
    for sid, terms in shown.items():
        for term in terms:
            assert f"<b>{esc(term)}</b>: {esc(MEANINGS[term])}" in sections[sid], (sid, term)
    assert esc(DECIDING_INTERVAL) in sections["verdict"]
    assert "paired bootstrap interval over items and seeds" in DECIDING_INTERVAL
    assert list(sections)[-1] == "next-step" and "Next step: " in sections["next-step"]


def test_the_bootstrap_interval_decides_over_the_t_interval() -> None:
    from instructmining.rule.verdict import random_outcomes

    row = {"eval_set": "holdout", "selector": "random", "diff": -0.05,
           "diff_low": -0.2, "diff_high": 0.1, "boot_low": -0.08, "boot_high": -0.02}  # fmt: skip
    assert random_outcomes([row]) == [
        ("holdout", "beats", "-0.0500, 95% CI -0.0800 to -0.0200 over items and seeds")
    ]
    seeds_only = {k: v for k, v in row.items() if not k.startswith("boot")}
    assert random_outcomes([seeds_only])[0][1] == "does not differ from"


def _with_fit(ws: Path, permutation_p: float, cv_r2: float) -> None:
    rule = json.loads((ws / "rule.json").read_text())
    rule["fit"].update(permutation_p=permutation_p, cv_r2=cv_r2)
    (ws / "rule.json").write_text(json.dumps(rule))


def _summary(ws: Path, boot_low: float, boot_high: float) -> None:
    row = {"eval_set": "holdout", "selector": "random", "diff": (boot_low + boot_high) / 2,
           "diff_low": -0.3, "diff_high": 0.3}  # fmt: skip
    row |= {"boot_low": boot_low, "boot_high": boot_high}
    write_parquet(pd.DataFrame([row]), ws / "compare_summary.parquet")


def test_the_next_step_follows_from_the_figures(ws: Path, tmp_path: Path) -> None:
    from instructmining.report.sections.next_step import next_step
    from instructmining.report.tables import load_inputs

    def step() -> tuple[str, str]:
        return next_step(load_inputs(ws))

    _with_fit(ws, permutation_p=0.4, cv_r2=-0.1)
    kind, how = step()
    assert kind == "run more subsets" and "not better than chance" in how
    assert f"instructmining design {ws} --add" in how
    _with_fit(ws, permutation_p=0.01, cv_r2=0.5)
    kind, how = step()  # better than chance; compare.parquet alone: the t over seeds
    assert kind == "use the selection" and f"--rule {ws}/rule.json --top 200" in how
    (ws / "compare.parquet").rename(tmp_path / "compare.parquet")
    kind, how = step()  # not compared yet
    assert kind == "refine" and f"instructmining refine {ws} --rounds 3 --n N" in how
    assert "has not been compared with random" in how
    (tmp_path / "compare.parquet").rename(ws / "compare.parquet")
    _summary(ws, -0.02, 0.01)
    kind, how = step()
    assert kind == "refine" and "is not shown to beat random" in how
    _summary(ws, -0.05, -0.01)
    kind, how = step()
    assert kind == "use the selection" and f"--rule {ws}/rule.json --top 200" in how
    _summary(ws, 0.01, 0.05)
    assert step()[0] == "run more subsets"
    empty = tmp_path / "empty"
    empty.mkdir()
    kind, how = next_step(load_inputs(empty))
    assert kind == "run more subsets" and "No rule yet" in how
