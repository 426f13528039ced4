"""Paired differences of runs that start from another model, with a 95% interval over seeds.

A stage-4 adaptation run (``adapt_<config>/seed<S>``) is paired with the model it started from (its
``config.yaml``'s ``init_model``: the source-only or few-label model of the same seed), and with the
run of the same initial model that makes no update (``epochs: 0``, the ``target_norm`` config), on
the same eval set. An audio-LM GRPO run (``lalm_<model>_<sft>_<grpo>/seed<S>``) is
paired with the SFT model it started from (``init_model``: that run's ``model`` dir), for every
task (emotion classes, captions, open-vocabulary words; :data:`PAIRED_METRICS`). Per experiment and
eval set, the mean of the paired differences and its 95% interval (Student's t over the pairs:
seeds, times folds for fold experiments) say whether a gain is larger than what the seed changes:
an interval that contains 0 is within noise.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml
from scipy import stats

from emorl.report.results import SCORE_KINDS, Metric, Run, markdown_table

#: Per kind of score file, the metrics compared, shown in percentage points: SER's fractions scaled
#: by 100; for captions, the emotion named and the diversity (MECap-R1's two criteria); for
#: open-vocabulary words, the emotion-wheel F-score and the hit rate (both stored in %).
PAIRED_METRICS: dict[str, tuple[Metric, ...]] = {
    "ser": (Metric("ua", "UA", scale=100), Metric("wa", "WA", scale=100)),
    "cap": (Metric("emo_f1", "emo-F1"), Metric("distinct2", "distinct-2")),
    "ov": (Metric("ew_f", "EW-F"), Metric("hit_rate", "hit rate")),
}
#: Experiment methods whose runs may start from another model: stage-4 adaptation (every run has an
#: ``init_model``) and audio-LM runs (GRPO runs have one, SFT runs do not).
PAIRED_METHODS = ("adapt", "lalm")


@dataclass(frozen=True)
class Interval:
    """Mean of paired differences and its confidence interval (``None`` for a single pair)."""

    mean: float
    low: float | None
    high: float | None
    n: int

    def format(self, scale: float = 100.0, digits: int = 1) -> str:
        """``+1.2 [-0.3, +2.7]`` (``+1.2`` alone for one pair)."""
        mean = f"{scale * self.mean:+.{digits}f}"
        if self.low is None:
            return mean
        return f"{mean} [{scale * self.low:+.{digits}f}, {scale * self.high:+.{digits}f}]"


def paired_interval(differences: Sequence[float], confidence: float = 0.95) -> Interval:
    """Mean of ``differences`` and its two-sided paired-t interval at ``confidence``."""
    d = np.asarray(differences, dtype=np.float64)
    if d.size == 0:
        raise ValueError("paired_interval: no differences")
    mean = float(d.mean())
    if d.size == 1:
        return Interval(mean, None, None, 1)
    half = stats.t.ppf((1 + confidence) / 2, d.size - 1) * d.std(ddof=1) / math.sqrt(d.size)
    return Interval(mean, mean - half, mean + half, int(d.size))


@dataclass
class PairedRow:
    """One adaptation or GRPO experiment on one eval set: its differences per metric."""

    kind: str  # the score kind (SCORE_KINDS key)
    upstream: str
    config: str
    eval_set: str
    to_init: dict[str, Interval]  # metric -> interval of (adapted - initial model)
    to_no_update: dict[str, Interval]  # metric -> interval of (adapted - no-update run)


def _run_config(run: Run) -> dict | None:
    path = run.run_dir / "config.yaml"
    if not path.is_file():
        return None
    try:
        config = yaml.safe_load(path.read_text())
    except yaml.YAMLError as e:
        raise ValueError(f"{path}: not valid yaml ({e})") from None
    if not isinstance(config, dict) or "init_model" not in config:
        if run.method == "lalm":
            return None  # an SFT run: it starts from no trained model
        raise ValueError(f"{path}: no init_model; not an adaptation run's config")
    return config


def _find(index: dict[tuple, Run], init_model: str, eval_set: str) -> Run | None:
    """The run whose dir (relative to the exp dir) is the longest tail of ``init_model`` or of its
    parent (an audio-LM's ``init_model`` is the ``model`` dir inside its run dir)."""
    path = Path(init_model)
    for parts in (path.parts, path.parent.parts):
        for k in range(len(parts), 0, -1):
            run = index.get((parts[-k:], eval_set))
            if run is not None:
                return run
    return None


def paired_rows(
    runs: Sequence[Run], exp_dir: str | os.PathLike, kind: str = "ser", confidence: float = 0.95
) -> list[PairedRow]:
    """Paired differences of the runs of score kind ``kind``: every ``adapt`` experiment's and
    every audio-LM GRPO experiment's (see the module docstring).

    ``init_model`` paths are matched to runs under ``exp_dir`` by their tail, so the report finds
    them whatever directory the recipe ran from. Runs without a ``config.yaml``, or whose initial
    model has no score on the eval set, are left out of the pairs (logged).
    """
    exp_dir = Path(exp_dir)
    metrics = PAIRED_METRICS[kind]
    scored = [r for r in runs if r.kind == kind]
    index = {(r.run_dir.relative_to(exp_dir).parts, r.eval_set): r for r in scored}
    configs = {r.run_dir: _run_config(r) for r in scored if r.method in PAIRED_METHODS}
    no_update = {}  # (init model run dir, eval set) -> the run without update
    for r in scored:
        config = configs.get(r.run_dir)
        if config is not None and config.get("epochs") == 0:
            init = _find(index, config["init_model"], r.eval_set)
            if init is not None:
                no_update[(init.run_dir, r.eval_set)] = r
    groups: dict[tuple, dict[str, list[float]]] = {}
    for r in scored:
        config = configs.get(r.run_dir)
        if r.method not in PAIRED_METHODS or (config is None and r.method == "lalm"):
            continue
        if config is None:
            logging.warning("%s: no config.yaml; left out of the paired differences", r.run_dir)
            continue
        init = _find(index, config["init_model"], r.eval_set)
        if init is None:
            logging.warning(
                "%s: its init_model %s has no score on %s; left out of the paired differences",
                r.run_dir,
                config["init_model"],
                r.eval_set,
            )
            continue
        diffs = groups.setdefault((r.upstream, r.config, r.eval_set), {})
        reference = no_update.get((init.run_dir, r.eval_set))
        for key in (m.key for m in metrics):
            diffs.setdefault(f"init:{key}", []).append(r.scores[key] - init.scores[key])
            if reference is not None and reference is not r:
                diffs.setdefault(f"none:{key}", []).append(r.scores[key] - reference.scores[key])
    rows = []
    for (upstream, config, eval_set), diffs in sorted(groups.items()):
        intervals = {name: paired_interval(d, confidence) for name, d in diffs.items()}
        rows.append(
            PairedRow(
                kind,
                upstream,
                config,
                eval_set,
                {m.key: intervals[f"init:{m.key}"] for m in metrics},
                {
                    m.key: intervals[f"none:{m.key}"]
                    for m in metrics
                    if f"none:{m.key}" in intervals
                },
            )
        )
    return rows


def paired_table(rows: Sequence[PairedRow]) -> str:
    """The markdown table of :func:`paired_rows` (rows of one kind): a row per experiment and eval
    set; the "vs no update" columns only when a row has such a run (adaptation, not GRPO)."""
    metrics = PAIRED_METRICS[rows[0].kind]
    with_none = any(r.to_no_update for r in rows)
    header = ["upstream", "adaptation or GRPO", "eval set", "pairs"]
    for m in metrics:
        header += [f"Δ{m.header} vs initial model"]
        header += [f"Δ{m.header} vs no update"] if with_none else []
    body = []
    for r in rows:
        cells = [r.upstream, r.config, r.eval_set, str(r.to_init[metrics[0].key].n)]
        for m in metrics:
            cells += [r.to_init[m.key].format(m.scale)]
            if with_none:
                none = r.to_no_update.get(m.key)
                cells += ["-" if none is None else none.format(m.scale)]
        body.append(cells)
    return markdown_table(header, body)


def paired_section(runs: Sequence[Run], exp_dir: str | os.PathLike) -> str:
    """The RESULTS block's sections of paired differences, one per score kind that has pairs
    ("" when no run starts from another)."""
    sections = []
    for kind in PAIRED_METRICS:
        rows = paired_rows(runs, exp_dir, kind)
        if not rows:
            continue
        title = "Adaptation and GRPO: paired differences over seeds"
        if kind != "ser":
            title += f" ({SCORE_KINDS[kind].title})"
        note = (
            "Per adaptation or audio-LM GRPO experiment and eval set, the mean difference to its "
            "initial model (the source-only or few-label model, or the SFT model, of the same "
            "seed) and, for adaptation, to the run of the same initial model without update "
            "(`epochs: 0`, target_norm), in percentage points, with the 95% "
            "paired-t interval over the pairs (seeds; seeds x folds for fold experiments). An "
            "interval containing 0 is within the seed noise."
        )
        sections.append("\n".join([f"### {title}", "", note, "", paired_table(rows)]))
    return "\n".join(sections)


@dataclass
class ComparedRow:
    """One experiment on one eval set, against the reference experiment of the same exp dir."""

    exp: str
    eval_set: str
    mean: float
    std: float
    seeds: int
    to_reference: Interval | None  # None for the reference itself, or with no common seed


def compare_to_reference(
    runs: Sequence[Run], reference: str, metric: Metric, confidence: float = 0.95
) -> list[ComparedRow]:
    """Every experiment of ``runs`` (one exp dir's) against the experiment named ``reference``,
    per eval set: mean and std of ``metric`` over seeds (and folds), and the paired difference
    over the seeds both have, with its interval. Rows are sorted by eval set, then best first.

    A search over configs is read with it: which config is best on the dev set, and by how much
    it beats the best comparison, paired by seed.
    """
    by_exp: dict[tuple[str, str], dict[tuple[str, str], float]] = {}
    for r in runs:
        if metric.key not in r.scores:
            raise ValueError(f"{r.path}: no {metric.key!r} in its scores")
        by_exp.setdefault((r.exp, r.eval_set), {})[(r.seed, r.fold)] = float(r.scores[metric.key])
    if not any(exp == reference for exp, _ in by_exp):
        names = sorted({exp for exp, _ in by_exp})
        raise ValueError(f"reference {reference!r} is none of the experiments {names}")
    rows = []
    for (exp, eval_set), values in by_exp.items():
        ref = by_exp.get((reference, eval_set), {})
        common = sorted(set(values) & set(ref))
        interval = None
        if exp != reference and common:
            interval = paired_interval([values[k] - ref[k] for k in common], confidence)
        v = np.array(list(values.values()))
        std = float(v.std(ddof=1)) if v.size > 1 else 0.0
        rows.append(ComparedRow(exp, eval_set, float(v.mean()), std, int(v.size), interval))
    return sorted(rows, key=lambda row: (row.eval_set, -row.mean, row.exp))


def compared_table(rows: Sequence[ComparedRow], metric: Metric, reference: str) -> str:
    """The markdown table of :func:`compare_to_reference`."""
    header = ["experiment", "eval set", "seeds", metric.header, f"Δ{metric.header} vs {reference}"]
    body = []
    for r in rows:
        delta = "-"
        if r.to_reference is not None:
            delta = r.to_reference.format(metric.scale, metric.digits)
        mean, std = metric.scale * r.mean, metric.scale * r.std
        value = f"{mean:.{metric.digits}f} ± {std:.{metric.digits}f}"
        body.append([r.exp, r.eval_set, str(r.seeds), value, delta])
    return markdown_table(header, body)
