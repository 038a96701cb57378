"""Does the data matter more than the dice? Spread of eval loss across subsets vs seed noise.

A rule fitted to eval losses is only meaningful when subsets differ by more than retraining the
same subset with another seed does (docs/findings.md: at 1 epoch and lr 3e-4 they did not).
"""

from __future__ import annotations

import math

import pandas as pd

from instructmining.outcomes import BASELINE, seed_noise

# Spread (sd across subsets) this many times the seed sd counts as standing above the noise.
_ABOVE_NOISE = 2.0


def summarize(runs: pd.DataFrame) -> str:
    """A few lines for the end of `instructmining experiment`."""
    ok = runs[runs["status"] == "ok"]
    failed = runs[runs["status"] != "ok"]
    lines = [
        f"runs: {len(ok)} ok, {len(failed)} failed" + (" (rerun to retry)" if len(failed) else "")
    ]
    base = ok.loc[ok["subset_id"] == BASELINE, "eval_loss"]
    if len(base):
        lines.append(f"base model eval loss: {base.iloc[0]:.4f}")
    trained = ok[ok["subset_id"] != BASELINE]
    if trained.empty:
        return "\n".join(lines)
    means = trained.groupby("subset_id")["eval_loss"].mean()
    spread = means.std(ddof=1) if len(means) > 1 else math.nan
    lines.append(
        f"eval loss across {len(means)} subset(s): mean {means.mean():.4f}, "
        f"range {means.min():.4f} to {means.max():.4f}, sd {_fmt(spread)}"
    )
    noise = seed_noise(trained)
    if math.isnan(noise):
        lines.append("seed noise: not measured (give two or more --seeds to measure it)")
    else:
        lines.append(f"seed noise (sd across seeds of the same subset, pooled): {noise:.4f}")
    if spread == 0 and noise == 0:
        lines.append("no spread and no noise: nothing was learned (every run gives one loss)")
    elif not math.isnan(spread) and not math.isnan(noise):
        ratio = spread / noise if noise > 0 else math.inf
        verdict = (
            "stands above the seed noise"
            if ratio >= _ABOVE_NOISE
            else "does NOT stand above the seed noise: train longer or with a larger lr"
        )
        lines.append(f"spread / noise = {ratio:.1f}: the spread across subsets {verdict}")
    return "\n".join(lines)


def _fmt(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.4f}"
