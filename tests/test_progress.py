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


def test_slow_items_still_get_a_rate_and_an_eta():
    """Fine-tunes take minutes each, longer than rich's speed window: the line falls back to
    the mean rate since the start, so a log still says when the stage will end."""
    clock = iter([0.0, 0.0, 0.0, 300.0, 300.0, 300.0, 300.0])
    bar = PlainProgress("runs", echo=False)
    bar.get_time = lambda: next(clock, 300.0)
    runs = bar.add_task("fine-tuning runs", total=10, status="")
    bar.update(runs, completed=2)
    line = progress_line(bar.tasks[runs], bar.unit)
    assert "2/10 runs (20%), 0.01 runs/s, elapsed 0:05:00, eta 0:20:00" in line, line
