"""Result tables: collect scored decode dirs, aggregate seeds and folds, write the RESULTS block.

Experiments are found by their layout under an ``exp`` dir (stages 3 to 7 write it):

    exp/<upstream>/<method>_<config>/seed<S>/decode_<eval set>/scores.json
    exp/<upstream>/<method>_<config>/seed<S>/train_log.csv

The seed level is optional (``.../<method>_<config>/decode_<set>`` counts as one run), and so is the
upstream level (``exp/<method>_<config>/...``, e.g. an audio-LM with its own audio encoder: its
upstream is shown as ``-``, and its comparison column is headed "own encoder"). ``method`` is the
experiment dir's name up to its first underscore (``ser``, ``adapt``), ``config`` the rest. Seeds
aggregate as mean ± sample standard deviation.

A score file's ``"task"`` key gives its kind (``ser`` when absent; ``cap``, ``ov``): each kind has
its own tables and columns (:data:`SCORE_KINDS`). A file of a kind not in that table is listed in
the block and otherwise left out.

Folds: a ``fold<k>`` token in the path of a run (``exp/iemocap4/fold3/fbank/...``), its experiment
name (``ser_ser_fold3``) or its eval set (``decode_fold3_test``) marks fold ``k`` of a
cross-validation. The token is removed from the upstream, experiment and eval-set names, so the
folds of one experiment are rows of it: one row per fold (mean over its seeds), then a summary row,
mean ± std over the per-fold means with the folds' utterances summed. Comparisons use the summary.
"""

from __future__ import annotations

import datetime
import importlib.metadata
import json
import logging
import os
import platform
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from emorl.atomic import atomic_write
from emorl.metrics.ser import aggregate
from emorl.report.plots import is_grpo_log, plot_curves, plot_grpo_comparison
from emorl.version import git_commit

START, END = "<!-- RESULTS START -->", "<!-- RESULTS END -->"
_SEED = re.compile(r"^seed(\d+)$")
_FOLD = re.compile(r"(^|[_/])fold(\d+)(?=[_/]|$)")


@dataclass(frozen=True)
class Metric:
    """A column of a result table: a ``scores.json`` key, its header, how to show it."""

    key: str
    header: str
    scale: float = 1.0  # shown value = scale * stored value (SER scores are fractions)
    digits: int = 1
    optional: bool = False  # absent from some score files (shown "-"); else a missing key stops


@dataclass(frozen=True)
class ScoreKind:
    """The tables of one kind of score file."""

    title: str
    metrics: tuple[Metric, ...]
    compare: tuple[str, str]  # the two metric keys of the comparison tables
    #: ``(key prefix, header prefix)``: one more column per key with that prefix found in the
    #: score files (``ew_f_<wheel>`` -> ``EW-F <wheel>``), shown "-" where a file lacks it.
    expand: tuple[tuple[str, str], ...] = ()

    def columns(self, scores: Sequence[dict]) -> tuple[Metric, ...]:
        """The metrics of a table of ``scores`` (score files, or rows' stats)."""
        extra = []
        for prefix, header in self.expand:
            keys = sorted({key for s in scores for key in s if key.startswith(prefix)})
            extra += [Metric(k, header + k[len(prefix) :], optional=True) for k in keys]
        return self.metrics + tuple(extra)


def _percent(key: str, header: str, scale: float = 1.0, optional: bool = False) -> Metric:
    return Metric(key, header, scale=scale, optional=optional)


def _count(key: str, header: str) -> Metric:
    return Metric(key, header, digits=0)


#: ``scores.json``'s ``"task"`` -> its tables. SER scores are fractions in [0, 1] (shown in %),
#: captioning and open-vocabulary scores are stored in %. Add a kind here to report it.
SCORE_KINDS: dict[str, ScoreKind] = {
    "ser": ScoreKind(
        "emotion recognition",
        (
            _percent("ua", "UA", 100),
            _percent("wa", "WA", 100),
            _percent("macro_f1", "macro-F1", 100),
            _percent("weighted_f1", "weighted-F1", 100),
        ),
        ("ua", "macro_f1"),
    ),
    "cap": ScoreKind(
        "emotion captioning",
        (
            _percent("bleu1", "BLEU-1"),
            _percent("bleu4", "BLEU-4"),
            _percent("meteor", "METEOR"),
            _percent("rouge_l", "ROUGE-L"),
            _percent("cider", "CIDEr", optional=True),
            _percent("distinct1", "distinct-1"),
            _percent("distinct2", "distinct-2"),
            _percent("emo_f1", "emo-F1"),
            Metric("mean_length", "mean length"),
            _count("num_empty", "#empty"),
        ),
        ("meteor", "emo_f1"),
    ),
    "ov": ScoreKind(
        "open-vocabulary emotion",
        (
            _percent("ew_f", "EW-F"),
            _percent("ew_p", "EW-P"),
            _percent("ew_r", "EW-R"),
            _percent("hit_rate", "hit rate"),
            Metric("mean_words", "mean words", optional=True),
            _count("num_skipped", "#skipped"),
        ),
        ("ew_f", "hit_rate"),
        expand=(("ew_f_", "EW-F "),),
    ),
}


@dataclass
class Run:
    """One scored decode dir."""

    upstream: str  # without its fold token
    exp: str  # experiment dir name, <method>_<config>, without its fold token
    seed: str  # "-" when the experiment has no seed dirs
    eval_set: str  # without its fold token
    scores: dict
    run_dir: Path  # the dir holding decode_<set> (and train_log.csv)
    fold: str = ""  # the fold number, "" outside cross-validation
    kind: str = "ser"  # scores.json's "task"
    path: Path | None = None  # the scores.json

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
    stats: dict  # metric -> {"mean", "std", "n"} (optional metrics may be absent)
    num_utts: int
    folds: int = 0  # > 0 for a fold summary: how many folds
    recipe: str = ""
    fold: str = ""  # the fold of a per-fold row
    kind: str = "ser"


def fold_of(*names: str) -> str:
    """The number of the first ``fold<k>`` token in ``names`` ("" when none has one)."""
    for name in names:
        match = _FOLD.search(name)
        if match:
            return match.group(2)
    return ""


def without_fold(name: str) -> str:
    """``name`` with its ``fold<k>`` token removed (``ser_fold2`` -> ``ser``,
    ``iemocap4/fold2/fbank`` -> ``iemocap4/fbank``)."""
    return _FOLD.sub("", name).strip("_/") or name


def _read_scores(path: Path) -> dict:
    try:
        scores = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: not a JSON score file ({e})") from None
    if not isinstance(scores, dict):
        raise ValueError(f"{path}: expected a JSON object of scores")
    return scores


def collect_runs(exp_dir: str | os.PathLike) -> list[Run]:
    """Every ``decode_*/scores.json`` under ``exp_dir``, sorted by its path (every kind)."""
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
        eval_set = decode.name[len("decode_") :]
        scores = _read_scores(path)
        runs.append(
            Run(
                upstream=without_fold(upstream) if upstream != "-" else upstream,
                exp=without_fold(exp),
                seed=seed,
                eval_set=without_fold(eval_set),
                scores=scores,
                run_dir=run_dir,
                fold=fold_of(upstream, exp, eval_set),
                kind=str(scores.get("task", "ser")),
                path=path,
            )
        )
    return runs


def unknown_runs(runs: Sequence[Run]) -> list[Run]:
    """The runs whose kind has no tables (see :data:`SCORE_KINDS`)."""
    return [r for r in runs if r.kind not in SCORE_KINDS]


def run_stats(runs: Sequence[Run], metrics: Sequence[Metric]) -> dict[str, dict]:
    """``key -> {"mean", "std", "n"}`` over the runs' scores (sample std; 0 for one value).

    A metric missing from a score file stops naming the file, unless it is optional: then it is
    left out when any run lacks it.
    """
    keys = []
    for metric in metrics:
        missing = [run for run in runs if run.scores.get(metric.key) is None]
        if missing and not metric.optional:
            run = missing[0]
            raise ValueError(f"{run.path}: no {metric.key!r} in a {run.kind!r} score file")
        if not missing:
            keys.append(metric.key)
    return aggregate([run.scores for run in runs], keys) if keys else {}


def _num_utts(run: Run) -> int:
    if "num_utts" not in run.scores:
        raise ValueError(f"{run.path}: no 'num_utts' in a {run.kind!r} score file")
    return int(run.scores["num_utts"])


def _row(runs: Sequence[Run], recipe: str = "") -> Row:
    first = runs[0]
    return Row(
        upstream=first.upstream,
        method=first.method,
        config=first.config,
        eval_set=first.eval_set,
        seeds=str(len(runs)) if first.seed != "-" else "-",
        stats=run_stats(runs, SCORE_KINDS[first.kind].columns([r.scores for r in runs])),
        num_utts=_num_utts(first),
        recipe=recipe,
        fold=first.fold,
        kind=first.kind,
    )


def _fold_summary(members: Sequence[Row], recipe: str) -> Row:
    first = members[0]
    metrics = SCORE_KINDS[first.kind].columns([row.stats for row in members])
    keys = [m.key for m in metrics if all(m.key in row.stats for row in members)]
    per_fold = [{key: row.stats[key]["mean"] for key in keys} for row in members]
    stats = aggregate(per_fold, keys) if keys else {}
    return Row(
        upstream=first.upstream,
        method=first.method,
        config=first.config,
        eval_set=first.eval_set,
        seeds="/".join(sorted({row.seeds for row in members})),
        stats=stats,
        num_utts=sum(row.num_utts for row in members),
        folds=len(members),
        recipe=recipe,
        kind=first.kind,
    )


def summarize(runs: Sequence[Run], recipe: str = "") -> list[Row]:
    """Rows of the known kinds: per (upstream, experiment, eval set, fold) over seeds, and after
    the folds of an experiment, their summary. Runs of unknown kinds are logged and left out."""
    groups: dict[tuple, dict[str, list[Run]]] = {}
    for run in runs:
        if run.kind not in SCORE_KINDS:
            logging.warning("%s: score kind %r has no table; left out", run.path, run.kind)
            continue
        key = (run.kind, run.upstream, run.exp, run.eval_set)
        groups.setdefault(key, {}).setdefault(run.fold, []).append(run)
    rows = []
    for _, by_fold in sorted(groups.items()):
        if "" in by_fold:
            rows.append(_row(by_fold.pop(""), recipe))
        members = [_row(by_fold[f], recipe) for f in sorted(by_fold, key=int)]
        if members:
            rows += members + [_fold_summary(members, recipe)]
    return rows


def fmt(stat: dict | None, metric: Metric) -> str:
    """A metric as shown: ``mean ± std`` (``mean`` alone for a single value, ``-`` if absent)."""
    if stat is None:
        return "-"
    mean = f"{metric.scale * stat['mean']:.{metric.digits}f}"
    std = f"{metric.scale * stat['std']:.{metric.digits}f}"
    return f"{mean} ± {std}" if stat["n"] > 1 else mean


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A GitHub markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _kind_of(rows: Sequence[Row]) -> str:
    kinds = {r.kind for r in rows}
    if len(kinds) != 1:
        raise ValueError(f"a table holds one kind of scores, got {sorted(kinds)}")
    return kinds.pop()


def _fold_cell(row: Row) -> str:
    return f"mean of {row.folds}" if row.folds else row.fold or "-"


def results_table(rows: Sequence[Row]) -> str:
    """A row per experiment, eval set (and fold): upstream, method, config, seeds, the kind's
    metrics, #utts. The ``fold`` column is there when some row belongs to a fold."""
    metrics = SCORE_KINDS[_kind_of(rows)].columns([r.stats for r in rows])
    with_folds = any(r.fold or r.folds for r in rows)
    header = ["upstream", "method", "config", "eval set"] + ["fold"] * with_folds + ["seeds"]
    header += [m.header for m in metrics] + ["#utts"]
    body = []
    for r in rows:
        cells = [r.upstream, r.method, r.config, r.eval_set] + [_fold_cell(r)] * with_folds
        cells += [r.seeds] + [fmt(r.stats.get(m.key), m) for m in metrics]
        body.append(cells + [str(r.num_utts)])
    return markdown_table(header, body)


def _mean(row: Row, metric: Metric) -> str:
    stat = row.stats.get(metric.key)
    return "-" if stat is None else f"{metric.scale * stat['mean']:.{metric.digits}f}"


def comparison_table(rows: Sequence[Row], column: str = "upstream") -> str:
    """The kind's two comparison metrics side by side: one column per ``column`` value (upstream
    or recipe). Rows are the other keys (method, config, eval set; plus upstream when comparing
    recipes); fold experiments appear once, by their summary over folds."""
    kind = SCORE_KINDS[_kind_of(rows)]
    metrics = {m.key: m for m in kind.metrics}
    first, second = (metrics[key] for key in kind.compare)
    keyed = {}
    for r in rows:
        if r.fold:
            continue  # a single fold: its experiment's summary row stands for it
        eval_set = f"{r.eval_set} ({r.folds} folds)" if r.folds else r.eval_set
        key = (
            (r.method, r.config, eval_set)
            if column == "upstream"
            else (r.upstream, r.method, r.config, eval_set)
        )
        keyed.setdefault(key, {})[getattr(r, column)] = r
    columns = sorted({getattr(r, column) for row in keyed.values() for r in row.values()})
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
            cells.append("-" if r is None else " / ".join(_mean(r, m) for m in (first, second)))
        body.append(list(key) + cells)
    if column == "upstream":
        columns = ["own encoder" if c == "-" else c for c in columns]
    return markdown_table(key_names + columns, body)


def environment_line(date: str | None = None, readme: str | os.PathLike | None = None) -> str:
    """Date, emorl git hash (``+dirty`` for changed tracked files other than ``readme``, which
    the report itself rewrites), python and torch versions."""
    date = date or datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
    # The installed version, read without importing torch (slow to import).
    versions = f"python {platform.python_version()}; torch {importlib.metadata.version('torch')}"
    commit = git_commit(mark_dirty=True, ignore=[readme] if readme else [])
    return f"date {date}; emorl {commit or 'unknown'}; {versions}"


def _compare_note(kind: ScoreKind) -> str:
    first, second = (next(m for m in kind.metrics if m.key == key) for key in kind.compare)
    return f"{first.header} / {second.header}, mean over seeds (over folds for fold experiments)."


def results_block(
    rows: Sequence[Row],
    command: str,
    compare_rows: Sequence[Row] = (),
    plots: Sequence[str] = (),
    date: str | None = None,
    unknown: Sequence[Run] = (),
    sections: Sequence[str] = (),
    readme: str | os.PathLike | None = None,
) -> str:
    """The markdown between the RESULTS markers: tables per kind of score file (in the order of
    :data:`SCORE_KINDS`), then ``sections`` (markdown, e.g. emorl.report.paired's), then the score
    files of unknown kinds, listed. ``readme``: the file the block goes into (its own changes do
    not make the tree dirty)."""
    parts = [
        START,
        "## RESULTS",
        "",
        f"Generated by `{command}` ({environment_line(date, readme)}). Metrics in % (counts and "
        "lengths as they are): mean ± std over seeds; an experiment run on folds has a row per "
        'fold and a "mean of k" row, mean ± std over its folds.',
        "",
    ]
    for name, kind in SCORE_KINDS.items():
        kind_rows = [r for r in rows if r.kind == name]
        if kind_rows:
            parts += [
                f"### Experiments: {kind.title}",
                "",
                results_table(kind_rows),
                f"### Comparison across upstreams and methods: {kind.title}",
                "",
                _compare_note(kind),
                "",
                comparison_table(kind_rows, "upstream"),
            ]
    if not rows:
        parts += ["No scored experiments yet.", ""]
    parts += [section for section in sections if section]
    for name, kind in SCORE_KINDS.items():
        kind_rows = [r for r in compare_rows if r.kind == name]
        if kind_rows:
            parts += [
                f"### Comparison across recipes: {kind.title}",
                "",
                _compare_note(kind),
                "",
                comparison_table(kind_rows, "recipe"),
            ]
    if unknown:
        parts += [
            "### Score files of unknown kinds",
            "",
            f"Not tabulated (the kinds with tables: {', '.join(SCORE_KINDS)}):",
            "",
        ]
        parts += [f"- `{run.path}`: task `{run.kind}`" for run in unknown] + [""]
    if plots:
        parts += ["### Training curves", ""] + [f"- {p}" for p in plots] + [""]
    parts.append(END)
    return "\n".join(parts) + "\n"


def training_logs(exp_dir: str | os.PathLike) -> dict[str, dict[str, Path]]:
    """Every experiment's training logs: ``experiment name -> {"seed S" (or the dir name): its
    train_log.csv}``; the name joins the experiment dir's path under ``exp_dir`` with ``_``."""
    exp_dir = Path(exp_dir)
    experiments: dict[str, dict[str, Path]] = {}
    for path in sorted(exp_dir.rglob("train_log.csv")):
        run_dir = path.parent
        match = _SEED.match(run_dir.name)
        exp = run_dir.parent if match else run_dir
        name = "_".join(exp.relative_to(exp_dir).parts)
        experiments.setdefault(name, {})[f"seed {match.group(1)}" if match else exp.name] = path
    return dict(sorted(experiments.items()))


def grpo_experiments(logs: dict[str, dict[str, Path]]) -> dict[str, list[Path]]:
    """The experiments of :func:`training_logs` that are audio-LM GRPO runs, with their logs."""
    return {
        name: list(curves.values())
        for name, curves in logs.items()
        if is_grpo_log(next(iter(curves.values())))
    }


def plot_training_curves(
    logs: dict[str, dict[str, Path]], plot_dir: str | os.PathLike
) -> list[Path]:
    """One PNG per experiment of :func:`training_logs` (its seeds overlaid), and
    ``grpo_comparison.png`` when several experiments are audio-LM GRPO runs (the curves of
    :data:`emorl.report.plots.GRPO_COLUMNS`, one line per experiment); returns the PNGs."""
    plot_dir = Path(plot_dir)
    written = []
    for name, curves in logs.items():
        png = plot_dir / f"{name}.png"
        if plot_curves(curves, png, title=name):
            written.append(png)
    grpo = grpo_experiments(logs)
    png = plot_dir / "grpo_comparison.png"
    if len(grpo) > 1 and plot_grpo_comparison(grpo, png, title="GRPO runs"):
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
