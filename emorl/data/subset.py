"""The few-labels protocol: a labeled fraction of a training set, and the rest with labels hidden.

:func:`labeled_split` draws a speaker- and class-stratified fraction of the utterances (every
(speaker, emotion) cell contributes in proportion, and every speaker and every class is
represented as far as the fraction allows); the same seed gives the same split.
:func:`write_split` writes the labeled part as a data dir, and the rest as a data dir without any
label table (:data:`LABEL_TABLES`), with the matching subsets of the feature dump, so that the
adaptation stage cannot read the labels it is meant not to have.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import replace

import numpy as np

from emorl.data.datadir import DataDir, DataDirError
from emorl.data.feats import subset_dump

#: Tables that carry the emotion (a caption and open-vocabulary words name it): hidden together.
LABEL_TABLES = ("utt2emo", "utt2caption", "utt2ovlabels")


def labeled_split(
    utt2spk: Mapping[str, str], utt2emo: Mapping[str, str], fraction: float, seed: int
) -> tuple[list[str], list[str]]:
    """``(labeled, unlabeled)`` utterances (sorted): ``round(fraction * N)`` labeled ones.

    Each (speaker, emotion) cell first gets ``floor(fraction * n_cell)``; the remaining picks go
    one at a time to the cell that adds a speaker or a class not yet represented, then to the cell
    with the largest rounding remainder (ties broken at random by ``seed``). Within a cell the
    utterances are taken in a ``seed``-random order.
    """
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"labeled fraction must be in (0, 1), got {fraction}")
    missing = sorted(set(utt2spk) - set(utt2emo))
    if missing:
        raise DataDirError(f"utt2emo: no label for {len(missing)} utterances (e.g. {missing[:3]})")
    cells: dict[tuple[str, str], list[str]] = {}
    for utt in sorted(utt2spk):
        cells.setdefault((utt2spk[utt], utt2emo[utt]), []).append(utt)
    keys = sorted(cells)
    rng = np.random.default_rng(seed)
    order = {key: [cells[key][i] for i in rng.permutation(len(cells[key]))] for key in keys}
    tie = dict(zip(keys, rng.random(len(keys))))
    total = sum(len(utts) for utts in cells.values())
    target = max(1, math.floor(fraction * total + 0.5))
    quota = {key: math.floor(fraction * len(cells[key])) for key in keys}
    remainder = {key: fraction * len(cells[key]) - quota[key] for key in keys}
    speakers = {key[0] for key in keys if quota[key] > 0}
    classes = {key[1] for key in keys if quota[key] > 0}
    for _ in range(target - sum(quota.values())):
        key = max(
            (k for k in keys if quota[k] < len(cells[k])),
            key=lambda k: ((k[0] not in speakers) + (k[1] not in classes), remainder[k], tie[k]),
        )
        quota[key] += 1
        remainder[key] -= 1.0
        speakers.add(key[0])
        classes.add(key[1])
    labeled = sorted(utt for key in keys for utt in order[key][: quota[key]])
    chosen = set(labeled)
    return labeled, [utt for utt in sorted(utt2spk) if utt not in chosen]


def hide_labels(data: DataDir) -> DataDir:
    """``data`` without its label tables (:data:`LABEL_TABLES`)."""
    return replace(data, **{name: None for name in LABEL_TABLES}, path=None)


def write_split(
    data_dir: str | os.PathLike,
    fraction: float,
    seed: int,
    labeled_dir: str | os.PathLike,
    unlabeled_dir: str | os.PathLike,
    feats_dir: str | os.PathLike | None = None,
    labeled_feats: str | os.PathLike | None = None,
    unlabeled_feats: str | os.PathLike | None = None,
) -> tuple[list[str], list[str]]:
    """Split ``data_dir`` (:func:`labeled_split`) into ``labeled_dir`` and ``unlabeled_dir`` (no
    label tables); with ``feats_dir``, also its dump into ``labeled_feats`` and ``unlabeled_feats``.
    Returns ``(labeled, unlabeled)``."""
    data = DataDir.load(data_dir)
    if data.utt2emo is None:
        raise DataDirError(f"{data_dir}/utt2emo: missing; a labeled fraction needs labels")
    labeled, unlabeled = labeled_split(data.utt2spk, data.utt2emo, fraction, seed)
    if not unlabeled:
        raise ValueError(f"{data_dir}: fraction {fraction} leaves no unlabeled utterance")
    data.subset(labeled).write(labeled_dir)
    hide_labels(data.subset(unlabeled)).write(unlabeled_dir)
    if feats_dir is not None:
        if labeled_feats is None or unlabeled_feats is None:
            raise ValueError("feats_dir needs labeled_feats and unlabeled_feats")
        subset_dump(feats_dir, labeled, labeled_feats)
        subset_dump(feats_dir, unlabeled, unlabeled_feats)
    return labeled, unlabeled
