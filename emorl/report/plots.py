"""Plots: confusion matrices (scikit-learn's display) and training curves (matplotlib).

Figures are built with ``matplotlib.figure.Figure`` (no pyplot state, no display needed) and
written atomically as PNG.
"""

from __future__ import annotations

import csv
import os

import numpy as np
from matplotlib.figure import Figure
from sklearn.metrics import ConfusionMatrixDisplay

from emorl.atomic import atomic_write


def _save(fig: Figure, path: str | os.PathLike) -> None:
    with atomic_write(path, "wb") as f:
        fig.savefig(f, format="png", dpi=100, bbox_inches="tight")


def plot_confusion(scores: dict, path: str | os.PathLike, title: str = "") -> None:
    """The confusion matrix of :func:`emorl.metrics.ser.ser_scores` (counts; rows: reference)."""
    labels = scores["confusion"]["labels"]
    size = 1.0 + 0.6 * len(labels)
    fig = Figure(figsize=(size + 1.5, size), layout="constrained")
    ax = fig.add_subplot()
    display = ConfusionMatrixDisplay(np.array(scores["confusion"]["matrix"]), display_labels=labels)
    display.plot(ax=ax, cmap="Blues", colorbar=True, xticks_rotation=45, values_format="d")
    ax.set_xlabel("prediction")
    ax.set_ylabel("reference")
    summary = "  ".join(
        f"{name} {100 * scores[key]:.1f}"
        for name, key in (("UA", "ua"), ("WA", "wa"), ("macro-F1", "macro_f1"))
    )
    ax.set_title(f"{title}\n{summary}" if title else summary)
    _save(fig, path)


def read_curve(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """A training-log CSV as ``column -> float array`` (non-numeric columns are skipped)."""
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    columns = {}
    for name in rows[0].keys() if rows else []:
        try:
            columns[name] = np.array([float(r[name]) for r in rows])
        except (TypeError, ValueError):
            continue
    return columns


def plot_curves(
    curves: dict[str, str | os.PathLike], path: str | os.PathLike, title: str = ""
) -> list[str]:
    """One panel per numeric column of the training logs ``run name -> train_log.csv``.

    The x axis is ``step`` (or ``epoch``) when the log has it. Returns the columns plotted (none,
    and no file written, when the logs have no rows yet).
    """
    data = {name: read_curve(csv_path) for name, csv_path in curves.items()}
    data = {name: cols for name, cols in data.items() if cols}
    if not data:
        return []  # nothing logged yet: no figure
    first = next(iter(data.values()))
    x_name = next((c for c in ("step", "epoch") if c in first), None)
    columns = [c for c in first if c not in ("step", "epoch")]
    _plot_panels(data, columns, x_name, path, title, marker=".")
    return columns


def _plot_panels(
    data: dict[str, dict[str, np.ndarray]],
    columns: list[str],
    x_name: str | None,
    path: str | os.PathLike,
    title: str,
    marker: str | None = None,
    note: str = "",
) -> None:
    """A grid of panels, one per column, with a line per run of ``data`` that has the column."""
    ncols = min(3, len(columns))
    nrows = -(-len(columns) // ncols)
    fig = Figure(figsize=(4.5 * ncols, 3.2 * nrows), layout="constrained")
    for k, column in enumerate(columns):
        ax = fig.add_subplot(nrows, ncols, k + 1)
        for name, cols in data.items():
            if column in cols:
                x = cols[x_name] if x_name else np.arange(1, len(cols[column]) + 1)
                ax.plot(x, cols[column], marker=marker, label=name)
        ax.set_title(column + note)
        ax.set_xlabel(x_name or "row")
        ax.grid(alpha=0.3)
    fig.axes[0].legend(fontsize="small")
    if title:
        fig.suptitle(title)
    _save(fig, path)


#: Columns that only an audio-LM GRPO log has.
GRPO_LOG_COLUMNS = frozenset({"format_valid", "kl"})


def is_grpo_log(path: str | os.PathLike) -> bool:
    """Whether a ``train_log.csv`` is an audio-LM GRPO log (by its header: a column may be empty,
    e.g. ``kl`` without a reference model)."""
    with open(path, newline="") as f:
        header = next(csv.reader(f), [])
    return GRPO_LOG_COLUMNS <= set(header)


#: The columns of an audio-LM GRPO log compared across experiments: the reward, and the signs of
#: reward hacking or collapse (longer answers, fewer distinct bigrams, drift from the reference).
GRPO_COLUMNS = ("reward", "answer_words", "distinct2", "completion_length", "kl", "format_valid")


def seed_mean(paths: list[str | os.PathLike]) -> dict[str, np.ndarray]:
    """The columns of several seeds' training logs, averaged step by step over the steps that
    every seed has logged."""
    curves = [c for c in (read_curve(p) for p in paths) if c]
    if not curves:
        return {}
    steps = min(len(c["step"]) for c in curves)
    columns = set.intersection(*(set(c) for c in curves))
    return {name: np.mean([c[name][:steps] for c in curves], axis=0) for name in columns}


def plot_grpo_comparison(
    experiments: dict[str, list[str | os.PathLike]], path: str | os.PathLike, title: str = ""
) -> list[str]:
    """One panel per :data:`GRPO_COLUMNS` column that the logs have, one line per experiment
    (``name -> its seeds' train_log.csv``, averaged over the seeds); returns the columns plotted."""
    data = {name: seed_mean(paths) for name, paths in experiments.items()}
    data = {name: cols for name, cols in data.items() if "step" in cols}
    columns = [c for c in GRPO_COLUMNS if any(c in cols for cols in data.values())]
    if columns:
        _plot_panels(data, columns, "step", path, title, note=" (mean over seeds)")
    return columns
