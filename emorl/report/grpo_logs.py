"""How audio-LM GRPO runs end: the reward and the sampled accuracy over their last steps.

EMO-RL argues that the Emotion Similarity-Weighted Reward trains more stably than the binary
accuracy reward. The table measures it on the training logs: per run, the mean and the standard
deviation over its last steps of the per-step mean reward (and of the sampled accuracy, which is
on the same scale whatever the reward), against the same means over its first steps; then mean ±
std over seeds. "Last steps" are the last quarter of the steps the seeds have all logged (at
least :data:`MIN_WINDOW`), "first steps" as many from the start.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from emorl.report.plots import read_curve
from emorl.report.results import markdown_table

WINDOW_FRACTION = 0.25
MIN_WINDOW = 5


def window(steps: int) -> int:
    """How many first and last steps are compared in a run of ``steps`` steps."""
    return min(steps, max(MIN_WINDOW, round(WINDOW_FRACTION * steps)))


def _mean_std(values: Sequence[float], digits: int) -> str:
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    return f"{np.mean(values):.{digits}f} ± {np.std(values, ddof=1):.{digits}f}"


def stability_row(name: str, paths: Sequence[str | os.PathLike]) -> list[str] | None:
    """The table row of one experiment (``paths``: its seeds' logs); None without a reward."""
    curves = [c for c in (read_curve(p) for p in paths) if "reward" in c and len(c["reward"])]
    if not curves:
        return None
    steps = min(len(c["reward"]) for c in curves)
    k = window(steps)
    cells = [name, str(len(curves)), str(steps), str(k)]
    for column in ("reward", "accuracy"):
        if not all(column in c for c in curves):
            cells += ["-", "-"]
            continue
        first = [float(c[column][:k].mean()) for c in curves]
        last = [float(c[column][steps - k : steps].mean()) for c in curves]
        spread = [float(c[column][steps - k : steps].std(ddof=1)) for c in curves] if k > 1 else []
        cells += [
            f"{_mean_std(first, 2)} → {_mean_std(last, 2)}",
            _mean_std(spread, 3) if spread else "-",
        ]
    return cells


def stability_section(experiments: dict[str, Sequence[str | os.PathLike]]) -> str:
    """The RESULTS block's section on GRPO runs (``experiment -> its seeds' train_log.csv``,
    audio-LM GRPO logs only); "" when there is none."""
    rows = [r for name, paths in sorted(experiments.items()) if (r := stability_row(name, paths))]
    if not rows:
        return ""
    header = [
        "GRPO experiment",
        "seeds",
        "steps",
        "window",
        "mean reward: first → last steps",
        "std of the mean reward, last steps",
        "sampled accuracy: first → last steps",
        "std of the accuracy, last steps",
    ]
    return "\n".join(
        [
            "### GRPO training: reward at the end and its stability",
            "",
            "From each run's `train_log.csv`: the per-step mean reward (all reward terms, "
            "weighted) and the accuracy of the sampled completions, averaged over the first and "
            "the last `window` steps, and their standard deviation over the last `window` steps "
            "(reward stability); mean ± std over seeds. Rewards of different terms are on "
            "different scales; the accuracy is comparable across them.",
            "",
            markdown_table(header, rows),
        ]
    )
