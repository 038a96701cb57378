"""The forms `--seeds` and `--test-eval` take on every command, parsed in one place."""

from __future__ import annotations

from pathlib import Path

from instructmining.errors import UserError, param

SEEDS_HELP = "A count N (seeds 0..N-1) or a list such as 0,1,2 (one seed: 7,)."
TEST_EVAL_HELP = (
    "Extra evaluation set NAME=FILE, repeatable; reported, not optimised (test_loss__NAME)."
)


def parse_seeds(text: str | int) -> list[int]:
    """`5` means seeds 0..4; `0,1,2` (any text with a comma) means those seeds."""
    text = str(text).strip()
    try:
        if "," not in text:
            count = int(text)
            if count < 1:
                raise UserError(f"{param('seeds')} {count}: a count must be at least 1")
            return list(range(count))
        seeds = [int(s) for s in text.split(",") if s.strip()]
    except ValueError as exc:
        raise UserError(
            f"{param('seeds')} must be integers separated by commas, not {text!r} "
            "(or a count such as 5)"
        ) from exc
    if not seeds:
        raise UserError(f"{param('seeds')} is empty")
    return seeds


def parse_test_evals(items: list[str]) -> dict[str, Path]:
    """NAME=FILE items as {NAME: FILE}."""
    evals: dict[str, Path] = {}
    for item in items:
        name, sep, path = item.partition("=")
        if not sep or not name.isidentifier() or not path:
            raise UserError(
                f"{param('test_eval')} must be NAME=FILE with NAME a plain word, not {item!r}"
            )
        evals[name] = Path(path)
    return evals


def limited_eval_set(eval_file: Path, eval_limit: int | None, workspace: Path) -> Path:
    """The first `eval_limit` items (by id, as a YAML `eval: {limit: N}` takes them) written to
    WS/eval.parquet, so `search` and `compare` reuse the same items; `eval_file` when no limit."""
    if eval_limit is None:
        return eval_file
    if eval_limit < 1:
        raise UserError(f"{param('eval_limit')} must be at least 1 (got {eval_limit})")
    from instructmining.data import read_examples, write_pool
    from instructmining.workspace import Workspace

    table = read_examples(eval_file, drop_empty=False).sort_values("id").head(eval_limit)
    target = Workspace.of(workspace).eval_set("eval")
    if Path(eval_file).resolve() == target.resolve():
        raise UserError(
            f"{eval_file}: {param('eval_limit')} would overwrite the evaluation set it reads"
        )
    write_pool(table, target)
    return target
