"""Kill `instructmining run` with SIGKILL at many points and check that nothing is lost.

    .venv/bin/python tools/kill_resume.py [--kills 20] [--seed 0] [--work DIR]

1. Builds a tiny random Llama (with the real SmolLM2 tokenizer) and a config that runs every
   stage on a small pool in about a minute or two.
2. Runs it once without interruption (the reference) and records when each stage starts.
3. Runs it again in a fresh workspace, killing the process group with SIGKILL at `--kills`
   points spread over the reference's duration (stratified: one random point in each of
   `--kills` equal slices, mapped to "stage marker seen, then wait so long", plus one point in
   the first second of every stage), restarting after each kill until a run completes. A
   resumed run skips finished work and may complete before every kill has happened; then a new
   round starts in a fresh workspace with the kills still owed.
4. Checks: after every kill, every table and JSON file in the workspace parses; once the run
   completes, no temporary file is left; no finished fine-tune or stage output was written twice
   (each run record and stage marker keeps its inode once written); the final tables and values
   equal the reference's (timings and library versions aside).

Exit code 0 when every check holds; 1 otherwise, with the failures listed. `--json FILE` writes
the figures (kills, restarts, seconds, findings) for a test to read.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
CLI = Path(sys.executable).with_name("instructmining")
STAGE_LINE = re.compile(r"(\d+)\. ([a-z ]+): ")
IGNORED_COLUMNS = {"seconds", "versions", "cached"}
IGNORED_KEYS = {"seconds", "versions", "created", "elapsed"}
# Completion markers key later stages by hashes of earlier tables, some of which carry timings
# (`seconds`); they are bookkeeping, not results.
IGNORED_PATHS = {
    f"stages/{stage}.json.inputs" for stage in ("fit", "select", "search", "compare", "report")
} | {  # and so do the hashes of the tables a stage wrote
    f"stages/{stage}.json.outputs"
    for stage in ("pool", "eval", "test_eval", "indicators", "subsets")
    + ("fit", "select", "search", "compare", "report")
}


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# -- setup ------------------------------------------------------------------------------------


def make_tiny_model(folder: Path) -> Path:
    """A 2-layer Llama with random weights, saved with SmolLM2's tokenizer and chat template."""
    from instructmining.models.loader import DEFAULT_LM, load_tokenizer

    if (folder / "config.json").exists():
        return folder
    sys.path.insert(0, str(ROOT / "tests"))  # the test suite's builder of tiny models
    from tiny_models import save_tiny_llama

    return save_tiny_llama(folder, load_tokenizer(DEFAULT_LM))


def write_config(path: Path, model: Path, small: bool = False) -> Path:
    """Every stage, small: three sources, a handful of subsets, a short search and comparison;
    `small` trims it further (fewer examples, no embedder) for the test suite."""
    config = {
        "workspace": "ws",
        "pool": {
            "files": [
                {"path": str(DATA / "dolly/alpagasus_dolly_3k_sample.json"), "source": "dolly"},
                {"path": str(DATA / "alpaca/alpaca_5000_sample.json"), "source": "alpaca"},
                {"path": str(DATA / "oasst/oa_en_100_tree_sample.jsonl"), "source": "oasst"},
            ],
            "per_source": 8 if small else 16,
        },
        "indicators": {
            "names": ["length", "ppl", "ifd"] if small else ["length", "mtld", "ppl", "ifd", "knn"],
            "lm": str(model),
        },
        "sampling": {"subsets": 5 if small else 6, "size": 6 if small else 8},
        "experiments": {
            "eval": {
                "path": str(DATA / "self_instruct/user_oriented_instructions_sample.jsonl"),
                "limit": 4 if small else 8,
            },
            "test_eval": {
                "path": [
                    str(DATA / "mt_bench/question.jsonl"),
                    str(DATA / "mt_bench/model_answer/gpt-4.jsonl"),
                ],
                "format": "mt-bench",
                "limit": 4,
            },
            "overrides": {
                "base_model": str(model),
                "epochs": 1,
                "max_length": 64,
                "batch_size": 4,
                "lr": 5e-3,
                # Search trials of 4 examples make one step: without warm-up it is not at lr 0.
                "schedule": "constant",
                "warmup": 0.0,
                "eval_batch_size": 8,
            },
            "seeds": [0],
            "noise_subsets": 1,
            "noise_seeds": [1],
        },
        "fit": {"max_indicators": 1, "folds": 3},
        "select": {"top": 10},
        "search": {"min": 4, "max": 20, "trials": 2 if small else 3},
        "compare": {"n": 8, "seeds": 2, "baselines": ["length"]},
        "report": True,
    }
    import yaml

    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def env() -> dict[str, str]:
    return {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
        "PYTHONUNBUFFERED": "1",
        "COLUMNS": "120",
    }


# -- running and killing ----------------------------------------------------------------------


@dataclass
class Attempt:
    """One start of `instructmining run`: how it ended and when it printed each stage marker."""

    returncode: int | None = None
    killed: bool = False
    seconds: float = 0.0
    stages: dict[int, float] = field(default_factory=dict)  # stage number -> seconds from start
    files: dict[str, float] = field(default_factory=dict)  # workspace file -> first seen (watch)
    stderr_tail: str = ""
    traceback: bool = False


def start(config: Path, workspace: Path, log_path: Path) -> tuple[subprocess.Popen, Attempt]:
    proc = subprocess.Popen(
        [str(CLI), "run", str(config), "-o", str(workspace)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        errors="replace",
        env=env(),
        start_new_session=True,  # its own process group: the kill reaches any children too
    )
    attempt = Attempt()
    began = time.monotonic()
    lines: list[str] = []

    def read() -> None:
        with open(log_path, "a", encoding="utf-8") as out:
            for line in proc.stderr:
                out.write(line)
                lines.append(line)
                del lines[:-40]
                found = STAGE_LINE.search(line)
                if found and "─" in line:
                    attempt.stages.setdefault(int(found.group(1)), time.monotonic() - began)
                if "Traceback" in line:
                    attempt.traceback = True
        attempt.stderr_tail = "".join(lines)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    attempt._reader = reader  # type: ignore[attr-defined]
    attempt._began = began  # type: ignore[attr-defined]
    return proc, attempt


def finish(proc: subprocess.Popen, attempt: Attempt) -> Attempt:
    attempt.returncode = proc.wait()
    attempt._reader.join(timeout=30)  # type: ignore[attr-defined]
    attempt.seconds = time.monotonic() - attempt._began  # type: ignore[attr-defined]
    return attempt


def run_to_end(
    config: Path, workspace: Path, log_path: Path, timeout: float, watch: bool = False
) -> Attempt:
    """Run to the end; with `watch`, note when each workspace file first appears."""
    proc, attempt = start(config, workspace, log_path)
    began = time.monotonic()
    while proc.poll() is None and time.monotonic() - began < timeout:
        if watch and workspace.exists():
            for path in workspace.rglob("*"):
                name = str(path.relative_to(workspace))
                if _progress_file(path, workspace) and name not in attempt.files:
                    attempt.files[name] = time.monotonic() - attempt._began  # type: ignore[attr-defined]
        time.sleep(0.05)
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
    return finish(proc, attempt)


def _progress_file(path: Path, workspace: Path) -> bool:
    """Files whose appearance marks progress: outputs, run records, stage markers (not the
    lock, temp files or the indicator cache, which exist from early on)."""
    rel = path.relative_to(workspace)
    return (
        path.is_file() and path.suffix != ".tmp" and rel.name != ".lock" and rel.parts[0] != "cache"
    )


@dataclass(frozen=True)
class KillPoint:
    """Kill `delay` seconds after stage `stage` has started and `after_file` exists."""

    stage: int
    after_file: str | None
    delay: float


def kill_at(
    config: Path, workspace: Path, log_path: Path, point: KillPoint, timeout: float
) -> Attempt:
    """Start a run, wait for the stage's marker (and the file, if any), wait the delay, SIGKILL.

    Waiting for a file makes kill points follow progress rather than the clock: a resumed run
    whose earlier work is done finds the file at once and is killed in the work after it."""
    proc, attempt = start(config, workspace, log_path)
    deadline = time.monotonic() + timeout

    def ready() -> bool:
        if point.stage not in attempt.stages:
            return False
        return point.after_file is None or (workspace / point.after_file).exists()

    while proc.poll() is None and not ready() and time.monotonic() < deadline:
        time.sleep(0.01)
    end = time.monotonic() + point.delay
    while proc.poll() is None and time.monotonic() < end:
        time.sleep(0.01)
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
        attempt.killed = True
    return finish(proc, attempt)


def plan_kills(
    reference: Attempt, kills: int, rng: random.Random, stage_kills: bool = True
) -> list[KillPoint]:
    """One random point in each of `kills` equal slices of the reference run between its first
    stage marker and its end, plus one point early in each stage (within its first second)
    unless `stage_kills` is off, so short stages and their start-up are hit too; each as the
    stage and the last file the reference wrote before it in that stage, in reference order."""
    marks = sorted(reference.stages.items(), key=lambda kv: kv[1])
    first, end = marks[0][1], reference.seconds
    points = [first + (end - first) * (i + rng.random()) / kills for i in range(kills)]
    bounds = [t for _, t in marks[1:]] + [end]
    if stage_kills:
        starts = zip(marks, bounds, strict=True)
        points += [t + rng.random() * min(1.0, stop - t) for (_, t), stop in starts]
    plan = []
    for at in sorted(points):
        stage, began = max(((s, t) for s, t in marks if t <= at), key=lambda st: st[1])
        written = [(t, f) for f, t in reference.files.items() if began <= t <= at]
        seen, after = max(written) if written else (began, None)
        plan.append(KillPoint(stage, after, at - seen))
    return plan


# -- checks -----------------------------------------------------------------------------------


def temp_files(workspace: Path) -> list[str]:
    """Files a write in progress would leave: storage.atomic_path's `.NAME.*.tmp`."""
    return sorted(str(p.relative_to(workspace)) for p in workspace.rglob("*.tmp"))


def corrupt_files(workspace: Path) -> list[str]:
    """Tables and JSON files that do not parse (temporary files aside)."""
    import pyarrow.parquet as pq

    bad = []
    for path in sorted(workspace.rglob("*")):
        if not path.is_file() or path.name.endswith(".tmp"):
            continue
        try:
            if path.suffix == ".parquet":
                pq.read_table(path)
            elif path.suffix == ".json":
                json.loads(path.read_text(encoding="utf-8"))
            elif path.suffix == ".jsonl":
                for line in path.read_text(encoding="utf-8").splitlines():
                    json.loads(line)
        except Exception as exc:  # any failure to parse is the finding
            bad.append(f"{path.relative_to(workspace)}: {type(exc).__name__}: {exc}")
    return bad


def finished_work(workspace: Path) -> dict[str, tuple[int, int]]:
    """Files that stand for finished work, with (inode, mtime): a finished run's record and a
    stage's completion marker. Redoing that work would write them again."""
    found = {}
    for path in workspace.rglob("*.json"):
        rel = path.relative_to(workspace)
        is_marker = rel.parts[0] == "stages"
        is_record = len(rel.parts) == 3 and rel.parts[0].endswith("runs")
        if not (is_marker or is_record):
            continue
        if is_record:
            try:
                if json.loads(path.read_text(encoding="utf-8")).get("status") != "ok":
                    continue
            except ValueError:
                continue
        stat = path.stat()
        found[str(rel)] = (stat.st_ino, stat.st_mtime_ns)
    return found


def _frame_key(df):
    keys = [c for c in ("subset_id", "seed", "trial", "selector", "id", "rank") if c in df.columns]
    return df.sort_values(keys, kind="stable").reset_index(drop=True) if keys else df


def compare_tables(reference: Path, resumed: Path) -> list[str]:
    """Differences between the two workspaces' tables and JSON, timings and versions aside."""
    import numpy as np
    import pandas as pd

    problems = []
    ref_files = {
        str(p.relative_to(reference))
        for p in reference.rglob("*")
        if p.is_file() and p.suffix in (".parquet", ".json", ".jsonl") and "cache" not in p.parts
    }
    got_files = {
        str(p.relative_to(resumed))
        for p in resumed.rglob("*")
        if p.is_file() and p.suffix in (".parquet", ".json", ".jsonl") and "cache" not in p.parts
    }
    for name in sorted(ref_files ^ got_files):
        problems.append(
            f"{name}: only in the {'reference' if name in ref_files else 'resumed'} run"
        )
    for name in sorted(ref_files & got_files):
        a, b = reference / name, resumed / name
        if a.suffix == ".parquet":
            x, y = pd.read_parquet(a), pd.read_parquet(b)
            drop = [c for c in x.columns if c in IGNORED_COLUMNS]
            x, y = (
                _frame_key(x.drop(columns=drop)),
                _frame_key(y.drop(columns=drop, errors="ignore")),
            )
            if list(x.columns) != list(y.columns) or len(x) != len(y):
                problems.append(f"{name}: shape {x.shape} vs {y.shape}")
                continue
            for column in x.columns:
                u, v = x[column], y[column]
                if pd.api.types.is_float_dtype(u) and pd.api.types.is_float_dtype(v):
                    same = np.allclose(u.to_numpy(), v.to_numpy(), rtol=1e-5, atol=1e-7,
                                       equal_nan=True)  # fmt: skip
                else:
                    same = _local(u.astype(str).tolist(), reference) == _local(
                        v.astype(str).tolist(), resumed
                    )
                if not same:
                    problems.append(f"{name}: column {column} differs")
        elif a.suffix == ".json":
            x = _local(json.loads(a.read_text()), reference)
            y = _local(json.loads(b.read_text()), resumed)
            problems.extend(_json_diff(x, y, name)[:5])
        elif a.read_text().replace(str(reference), "<WS>") != b.read_text().replace(
            str(resumed), "<WS>"
        ):
            problems.append(f"{name}: contents differ")
    return problems


def _local(value, root: Path):
    """`value` with the workspace's own path replaced, so two workspaces compare equal."""
    if isinstance(value, str):
        return value.replace(str(root), "<WS>")
    if isinstance(value, list):
        return [_local(v, root) for v in value]
    if isinstance(value, dict):
        return {k: _local(v, root) for k, v in value.items()}
    return value


def _json_diff(a, b, where: str) -> list[str]:
    if where in IGNORED_PATHS:
        return []
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for key in sorted(set(a) | set(b)):
            if key in IGNORED_KEYS:
                continue
            if key not in a or key not in b:
                out.append(f"{where}.{key}: present in one run only")
            else:
                out += _json_diff(a[key], b[key], f"{where}.{key}")
        return out
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{where}: {len(a)} vs {len(b)} items"]
        return [
            d
            for i, (u, v) in enumerate(zip(a, b, strict=True))
            for d in _json_diff(u, v, f"{where}[{i}]")
        ]
    if isinstance(a, float) or isinstance(b, float):
        if isinstance(a, int | float) and isinstance(b, int | float):
            if math.isclose(a, b, rel_tol=1e-5, abs_tol=1e-7):
                return []
        return [f"{where}: {a!r} vs {b!r}"]
    return [] if a == b else [f"{where}: {a!r} vs {b!r}"]


# -- the campaign -----------------------------------------------------------------------------


def campaign(
    kills: int, seed: int, work: Path, timeout: float, stage_kills: bool = True, small: bool = False
) -> dict:
    rng = random.Random(seed)
    model = make_tiny_model(work / "tiny-llama")
    config = write_config(work / "config.yaml", model, small)
    findings: list[str] = []

    log(f"reference run in {work / 'reference'} ...")
    reference = run_to_end(config, work / "reference", work / "reference.log", timeout, watch=True)
    if reference.returncode != 0:
        raise SystemExit(
            f"the reference run failed ({reference.returncode}):\n{reference.stderr_tail}"
        )
    log(f"reference: {reference.seconds:.1f} s; stage starts: "
        + ", ".join(f"{s}@{t:.1f}s" for s, t in sorted(reference.stages.items())))  # fmt: skip

    totals = {"kills": 0, "restarts": 0, "seconds": 0.0, "temps": 0}
    killed_in: dict[int, int] = {}
    rounds = []
    # A resumed run skips finished work, so it can complete before every planned kill has
    # happened (more so when the machine got faster than during the reference): then a new
    # round starts in a fresh workspace with the kills still owed.
    while totals["kills"] < kills and len(rounds) < 6:
        number = len(rounds) + 1
        plan = plan_kills(reference, kills - totals["kills"], rng, stage_kills and number == 1)
        outcome = one_round(config, work / f"resumed{number}", plan, timeout, killed_in)
        findings += [f"round {number}: {f}" for f in outcome.pop("findings")]
        findings += [
            f"round {number}: differs from the reference: {d}"
            for d in compare_tables(work / "reference", work / f"resumed{number}")
        ]
        for key in totals:
            totals[key] += outcome[key]
        rounds.append(outcome)
    runs_in_reference = sum(1 for _ in (work / "reference").glob("*runs/*/*.json"))
    for number, outcome in enumerate(rounds, start=1):
        if outcome["finished_fine_tunes"] != runs_in_reference:
            findings.append(
                f"round {number}: {outcome['finished_fine_tunes']} finished fine-tunes vs "
                f"{runs_in_reference} in the reference"
            )
    return {
        "kills": totals["kills"],
        "restarts": totals["restarts"],
        "rounds": len(rounds),
        "killed_in_stage": dict(sorted(killed_in.items())),
        "reference_seconds": round(reference.seconds, 1),
        "resumed_seconds": round(totals["seconds"], 1),
        "finished_fine_tunes": [r["finished_fine_tunes"] for r in rounds],
        "fine_tunes_in_reference": runs_in_reference,
        "rewritten_finished_work": sorted({n for r in rounds for n in r["rewritten"]}),
        "temp_files_left_by_kills": totals["temps"],
        "findings": findings,
    }


def one_round(
    config: Path,
    workspace: Path,
    plan: list[KillPoint],
    timeout: float,
    killed_in: dict[int, int],
) -> dict:
    """Kill a run in `workspace` at each planned point (restarting after each) until it ends by
    itself, then run it to the end; check the workspace after every attempt."""
    findings: list[str] = []
    attempts: list[Attempt] = []
    written: dict[str, tuple[int, int]] = {}  # finished-work file -> (inode, mtime) first seen
    rewritten: set[str] = set()
    temps = 0  # temp files a kill left; the next run's Workspace.lock() sweeps them
    log_path = workspace.with_suffix(".log")

    def after(attempt: Attempt, label: str) -> None:
        nonlocal temps
        attempts.append(attempt)
        if attempt.traceback:
            findings.append(f"{label}: a traceback on stderr:\n{attempt.stderr_tail}")
        if not attempt.killed and attempt.returncode != 0:
            findings.append(f"{label}: exit code {attempt.returncode}:\n{attempt.stderr_tail}")
        if not workspace.exists():
            return
        if attempt.killed:
            temps += len(temp_files(workspace))
        for problem in corrupt_files(workspace):
            findings.append(f"{label}: unreadable file {problem}")
        for name, ident in finished_work(workspace).items():
            if name in written and written[name] != ident and name not in rewritten:
                rewritten.add(name)
                findings.append(f"{label}: finished work written again: {name}")
            written.setdefault(name, ident)

    for number, point in enumerate(plan, start=1):
        attempt = kill_at(config, workspace, log_path, point, timeout)
        last = max(attempt.stages, default=0)
        where = f"stage {last}" if attempt.stages else "start-up"
        planned = f"stage {point.stage}" + (f", {point.after_file}" if point.after_file else "")
        log(f"{workspace.name}: kill {number}/{len(plan)}: {planned} + {point.delay:.2f}s -> "
            + (f"killed in {where} after {attempt.seconds:.1f}s" if attempt.killed
               else f"ended by itself ({attempt.returncode})"))  # fmt: skip
        if attempt.killed:
            killed_in[last] = killed_in.get(last, 0) + 1
        after(attempt, f"attempt {number}")
        if not attempt.killed:
            break
    final = run_to_end(config, workspace, log_path, timeout)
    after(final, "final run")
    if final.returncode != 0:
        findings.append(f"the final run failed ({final.returncode})")
    left = temp_files(workspace)
    if left:
        findings.append(f"temporary files left after the run completed: {left}")
    return {
        "kills": sum(a.killed for a in attempts),
        "restarts": len(attempts),
        "seconds": sum(a.seconds for a in attempts),
        "temps": temps,
        "finished_fine_tunes": sum(1 for n in written if not n.startswith("stages")),
        "rewritten": sorted(rewritten),
        "findings": findings,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--kills",
        type=int,
        default=20,
        help="SIGKILLs spread over the run (default 20), plus one early in each stage",
    )
    parser.add_argument(
        "--no-stage-kills",
        action="store_true",
        help="leave out the extra kill early in each stage",
    )
    parser.add_argument("--small", action="store_true", help="a smaller config (for tests)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the kill points")
    parser.add_argument("--work", type=Path, help="working folder (default: a temporary one)")
    parser.add_argument("--timeout", type=float, default=900, help="seconds per attempt")
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args(argv)
    work = args.work or Path(tempfile.mkdtemp(prefix="kill-resume-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        result = campaign(
            args.kills, args.seed, work, args.timeout, not args.no_stage_kills, args.small
        )
    finally:
        if args.work is None and not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "findings"}, indent=2))
    for finding in result["findings"]:
        print(f"FAIL: {finding}")
    print("ok" if not result["findings"] else f"{len(result['findings'])} failure(s)")
    return 0 if not result["findings"] else 1


if __name__ == "__main__":
    sys.exit(main())
