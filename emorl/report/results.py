"""Result tables: collect scored decode dirs, aggregate seeds and folds, write the RESULTS block.

Experiments are found by their layout under an ``exp`` dir (stages 3 and 4 write it):

    exp/<upstream>/<method>_<config>/seed<S>/decode_<eval set>/scores.json
    exp/<upstream>/<method>_<config>/seed<S>/train_log.csv

The seed level is optional (``.../<method>_<config>/decode_<set>`` counts as one run), and so is the
upstream level (``exp/<method>_<config>/...``, shown as ``-``). ``method`` is the experiment dir's
name up to its first underscore (``ser``, ``adapt``), ``config`` the rest. Seeds aggregate as
mean ± sample standard deviation. A ``fold<k>`` token in the experiment or eval-set name
(``ser_ser_fold3``, ``decode_fold3_test``) marks cross-validation folds: the folds of one
experiment are also summarised in one row, mean ± std over the per-fold means, with the folds'
utterances summed.
"""

from __future__ import annotations

import datetime
import importlib.metadata
import json
import os
import platform
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from emorl.atomic import atomic_write
from emorl.metrics.ser import METRIC_NAMES, METRICS, aggregate
from emorl.report.plots import plot_curves
from emorl.version import git_commit

START, END = "<!-- RESULTS START -->", "<!-- RESULTS END -->"
_SEED = re.compile(r"^seed(\d+)$")
_FOLD = re.compile(r"(^|[_/])fold(\d+)(?=[_/]|$)")


@dataclass
class Run:
    """One scored decode dir."""

    upstream: str
    exp: str  # experiment dir name, <method>_<config>
    seed: str  # "-" when the experiment has no seed dirs
    eval_set: str
    scores: dict
    run_dir: Path  # the dir holding decode_<set> (and train_log.csv)

    @property
    def method(self) -> str:
        return self.exp.split("_", 1)[0]

    @property
    def config(self) -> str:
        parts = self.exp.split("_", 1)
        return parts[1] if len(parts) > 1 else "-"


@dataclass
class Row:
    """One table row: an experiment on an eval set, aggregated over seeds (or folds)."""

    upstream: str
    method: str
    config: str
    eval_set: str
    seeds: str  # how many seeds (per fold for fold summaries)
    stats: dict  # metric -> {"mean", "std", "n"}
    num_utts: int
    folds: int = 0  # > 0 for a fold summary
    recipe: str = ""


def collect_runs(exp_dir: str | os.PathLike) -> list[Run]:
    """Every ``decode_*/scores.json`` under ``exp_dir``, sorted by its path."""
    exp_dir = Path(exp_dir)
    runs = []
    for path in sorted(exp_dir.rglob("decode_*/scores.json")):
        decode = path.parent
        run_dir = decode.parent
        parts = list(run_dir.relative_to(exp_dir).parts)
        seed = "-"
        if parts and _SEED.match(parts[-1]):
            seed = _SEED.match(parts.pop()).group(1)
        if not parts:
            continue  # decode dirs directly in exp/ belong to no experiment
        exp = parts.pop()
        upstream = "/".join(parts) or "-"
        scores = json.loads(path.read_text())
        runs.append(Run(upstream, exp, seed, decode.name[len("decode_") :], scores, run_dir))
    return runs


def _row(runs: Sequence[Run], recipe: str = "") -> Row:
    first = runs[0]
    return Row(
        upstream=first.upstream,
        method=first.method,
        config=first.config,
        eval_set=first.eval_set,
        seeds=str(len(runs)) if first.seed != "-" else "-",
        stats=aggregate([r.scores for r in runs]),
        num_utts=first.scores["num_utts"],
        recipe=recipe,
    )


def without_fold(name: str) -> str:
    """``name`` with its ``fold<k>`` token removed (``ser_fold2`` -> ``ser``,
    ``iemocap4/fold2/fbank`` -> ``iemocap4/fbank``)."""
    return _FOLD.sub("", name).strip("_/") or name


def summarize(runs: Sequence[Run], recipe: str = "") -> list[Row]:
    """Rows per (upstream, experiment, eval set) over seeds, then one row per fold group."""
    groups: dict[tuple, list[Run]] = {}
    for run in runs:
        groups.setdefault((run.upstream, run.exp, run.eval_set), []).append(run)
    rows = [_row(group, recipe) for _, group in sorted(groups.items())]
    folds: dict[tuple, list[Row]] = {}
    for (upstream, exp, eval_set), group in sorted(groups.items()):
        if _FOLD.search(upstream) or _FOLD.search(exp) or _FOLD.search(eval_set):
            key = (without_fold(upstream), without_fold(exp), without_fold(eval_set))
            folds.setdefault(key, []).append(_row(group, recipe))
    for (upstream, exp, eval_set), members in sorted(folds.items()):
        if len(members) < 2:
            continue
        per_fold = [{m: row.stats[m]["mean"] for m in METRICS} for row in members]
        rows.append(
            Row(
                upstream=upstream,
                method=exp.split("_", 1)[0],
                config=exp.split("_", 1)[1] if "_" in exp else "-",
                eval_set=f"{eval_set} ({len(members)} folds)",
                seeds="/".join(sorted({row.seeds for row in members})),
                stats=aggregate(per_fold),
                num_utts=sum(row.num_utts for row in members),
                folds=len(members),
                recipe=recipe,
            )
        )
    return rows


def fmt(stat: dict) -> str:
    """A metric as percent: ``mean ± std`` (``mean`` alone for a single value)."""
    mean = f"{100 * stat['mean']:.1f}"
    return f"{mean} ± {100 * stat['std']:.1f}" if stat["n"] > 1 else mean


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A GitHub markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def results_table(rows: Sequence[Row]) -> str:
    """A row per experiment and eval set: upstream, method, config, seeds, the 4 metrics, #utts."""
    header = ["upstream", "method", "config", "eval set", "seeds"]
    header += [METRIC_NAMES[m] for m in METRICS] + ["#utts"]
    body = []
    for r in rows:
        cells = [r.upstream, r.method, r.config, r.eval_set, r.seeds]
        body.append(cells + [fmt(r.stats[m]) for m in METRICS] + [str(r.num_utts)])
    return markdown_table(header, body)


def comparison_table(rows: Sequence[Row], column: str = "upstream") -> str:
    """UA / macro-F1 side by side: one column per ``column`` value (upstream or recipe).

    Rows are the other keys (method, config, eval set; plus upstream when comparing recipes).
    """
    keyed = {}
    for r in rows:
        key = (
            (r.method, r.config, r.eval_set)
            if column == "upstream"
            else (r.upstream, r.method, r.config, r.eval_set)
        )
        keyed.setdefault(key, {})[getattr(r, column)] = r
    columns = sorted({getattr(r, column) for r in rows})
    key_names = (
        ["method", "config", "eval set"]
        if column == "upstream"
        else ["upstream", "method", "config", "eval set"]
    )
    body = []
    for key in sorted(keyed):
        cells = []
        for c in columns:
            r = keyed[key].get(c)
            cells.append(
                "-"
                if r is None
                else f"{100 * r.stats['ua']['mean']:.1f} / {100 * r.stats['macro_f1']['mean']:.1f}"
            )
        body.append(list(key) + cells)
    return markdown_table(key_names + columns, body)


def environment_line(date: str | None = None) -> str:
    """Date, emorl git hash, python and torch versions."""
    date = date or datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
    # The installed version, read without importing torch (slow to import).
    versions = f"python {platform.python_version()}; torch {importlib.metadata.version('torch')}"
    return f"date {date}; emorl {git_commit(mark_dirty=True) or 'unknown'}; {versions}"


def results_block(
    rows: Sequence[Row],
    command: str,
    compare_rows: Sequence[Row] = (),
    plots: Sequence[str] = (),
    date: str | None = None,
) -> str:
    """The markdown between the RESULTS markers."""
    parts = [
        START,
        "## RESULTS",
        "",
        f"Generated by `{command}` ({environment_line(date)}). Metrics in %: mean ± std over seeds "
        '(over folds in the "(k folds)" rows).',
        "",
    ]
    if rows:
        parts += [
            "### Experiments",
            "",
            results_table(rows),
            "### Comparison across upstreams and methods",
            "",
            "UA / macro-F1 (%), mean over seeds.",
            "",
            comparison_table(rows, "upstream"),
        ]
    else:
        parts += ["No scored experiments yet.", ""]
    if compare_rows:
        parts += [
            "### Comparison across recipes",
            "",
            "UA / macro-F1 (%), mean over seeds.",
            "",
            comparison_table(compare_rows, "recipe"),
        ]
    if plots:
        parts += ["### Training curves", ""] + [f"- {p}" for p in plots] + [""]
    parts.append(END)
    return "\n".join(parts) + "\n"


def plot_training_curves(exp_dir: str | os.PathLike, plot_dir: str | os.PathLike) -> list[Path]:
    """One PNG per experiment with a ``train_log.csv`` (its seeds overlaid); returns the PNGs."""
    exp_dir, plot_dir = Path(exp_dir), Path(plot_dir)
    experiments: dict[Path, dict[str, Path]] = {}
    for path in sorted(exp_dir.rglob("train_log.csv")):
        run_dir = path.parent
        match = _SEED.match(run_dir.name)
        exp = run_dir.parent if match else run_dir
        experiments.setdefault(exp, {})[f"seed {match.group(1)}" if match else exp.name] = path
    written = []
    for exp, curves in sorted(experiments.items()):
        name = "_".join(exp.relative_to(exp_dir).parts)
        png = plot_dir / f"{name}.png"
        if plot_curves(curves, png, title=name):
            written.append(png)
    return written


def update_readme(readme: str | os.PathLike, block: str) -> None:
    """Replace the RESULTS block of ``readme`` (append one if it has none), atomically."""
    readme = Path(readme)
    text = readme.read_text() if readme.exists() else ""
    start, end = text.find(START), text.find(END)
    if (start < 0) != (end < 0) or end < start:
        raise ValueError(f"{readme}: unbalanced {START} / {END} markers")
    if start >= 0:
        text = text[:start] + block.rstrip("\n") + text[end + len(END) :]
    else:
        text = text.rstrip("\n") + ("\n\n" if text else "") + block
    with atomic_write(readme) as f:
        f.write(text if text.endswith("\n") else text + "\n")
