"""Plain progress lines name what each task counts."""

from __future__ import annotations

from instructmining.progress import PlainProgress, progress_line


def test_a_task_with_its_own_unit_names_it_in_its_line():
    bar = PlainProgress("runs", echo=False)
    runs = bar.add_task("fine-tuning runs", total=27, status="")
    steps = bar.add_task("s000 seed 0", total=4, status="", unit="steps")
    bar.update(runs, completed=2)
    bar.update(steps, completed=4)
    assert progress_line(bar.tasks[runs], bar.unit).startswith("fine-tuning runs: 2/27 runs (7%)")
    assert progress_line(bar.tasks[steps], bar.unit).startswith("s000 seed 0: 4/4 steps (100%)")
