"""B-GRPO's teacher: class posteriors per unlabeled utterance, in the student's class order.

The teacher is frozen, so its posteriors are computed once, before adaptation, from one of:
- ``init``: the initial model (a copy of the student before adaptation), on the student's features;
- ``model``: another stage-3 model directory, run on its own features (e.g. another upstream's);
- ``posteriors``: a decode directory (``labels`` + ``posteriors.scp/ark``, as infer_ser writes).

A teacher whose classes differ from the student's needs a label map (``<teacher> <student>`` per
line; teacher labels already in the student's set pass unchanged); the probabilities of teacher
classes mapped onto the same student class add up. Without a map, or with teacher classes the map
leaves out, it stops naming both label sets.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence

import numpy as np
import torch

from emorl.data.feats import read_feats
from emorl.data.labels import map_labels, read_label_map
from emorl.ser.infer import predict_posteriors, read_posteriors
from emorl.ser.model import load_model

TEACHERS = ("init", "model", "posteriors")


class TeacherError(ValueError):
    """The teacher cannot give posteriors for the student's utterances and classes."""


def class_mapping(
    teacher_labels: Sequence[str],
    student_labels: Sequence[str],
    label_map: dict[str, str] | None = None,
) -> np.ndarray:
    """A 0/1 matrix ``[C_teacher, C_student]``: teacher class -> student class."""
    teacher_labels, student_labels = list(teacher_labels), list(student_labels)
    both = f"teacher labels {teacher_labels}, student labels {student_labels}"
    if label_map is None and set(teacher_labels) != set(student_labels):
        raise TeacherError(
            f"the teacher's label set differs from the student's ({both}): give a label map"
        )
    mapped, unmapped = map_labels({t: t for t in teacher_labels}, label_map or {}, student_labels)
    if unmapped:
        raise TeacherError(
            f"the label map leaves teacher labels {sorted(unmapped)} without a student label "
            f"({both})"
        )
    matrix = np.zeros((len(teacher_labels), len(student_labels)), dtype=np.float32)
    for i, t in enumerate(teacher_labels):
        matrix[i, student_labels.index(mapped[t])] = 1.0
    orphans = [s for j, s in enumerate(student_labels) if not matrix[:, j].any()]
    if orphans:
        logging.warning(
            "no teacher class maps to student classes %s: the teacher gives them probability 0",
            orphans,
        )
    return matrix


def align_posteriors(
    posteriors: dict[str, np.ndarray],
    teacher_labels: Sequence[str],
    student_labels: Sequence[str],
    utts: Sequence[str],
    label_map: dict[str, str] | None = None,
    where: str = "teacher",
) -> dict[str, np.ndarray]:
    """Teacher posteriors of ``utts`` in the student's class order (float32 ``[C_student]`` each).

    Stops when the teacher lacks any of ``utts`` (naming how many and the first few).
    """
    missing = [utt for utt in utts if utt not in posteriors]
    if missing:
        raise TeacherError(
            f"{where}: no posteriors for {len(missing)} of {len(utts)} utterances "
            f"(e.g. {missing[:5]})"
        )
    matrix = class_mapping(teacher_labels, student_labels, label_map)
    return {utt: np.asarray(posteriors[utt], dtype=np.float32) @ matrix for utt in utts}


def teacher_posteriors(
    kind: str,
    student: torch.nn.Module,
    student_labels: Sequence[str],
    feats: dict[str, np.ndarray],
    teacher_dir: str | os.PathLike | None = None,
    teacher_feats: str | os.PathLike | None = None,
    label_map: str | os.PathLike | None = None,
    batch_size: int = 64,
) -> dict[str, np.ndarray]:
    """The teacher's posteriors of every utterance of ``feats``, in the student's class order.

    ``kind``: one of :data:`TEACHERS`. ``student``: the initial model (for ``init``; not modified).
    ``teacher_dir``: the model dir (``model``) or decode dir (``posteriors``). ``teacher_feats``:
    the dump the ``model`` teacher reads (default: ``feats``). ``label_map``: a label map file.
    """
    if kind not in TEACHERS:
        raise TeacherError(f"unknown teacher {kind!r}; choose from {TEACHERS}")
    if kind != "init" and teacher_dir is None:
        raise TeacherError(f"teacher {kind!r} needs --teacher_dir")
    mapping = read_label_map(label_map) if label_map is not None else None
    if kind == "init":
        return align_posteriors(
            predict_posteriors(student, feats, batch_size),
            student_labels,
            student_labels,
            sorted(feats),
        )
    if kind == "model":
        model, labels, _ = load_model(teacher_dir)
        if teacher_feats is not None:
            _, feats_of_teacher = read_feats(teacher_feats)
        else:
            feats_of_teacher = feats
        missing = sorted(set(feats) - set(feats_of_teacher))
        if missing:
            raise TeacherError(
                f"teacher features {teacher_feats}: {len(missing)} unlabeled utterances "
                f"missing (e.g. {missing[:5]})"
            )
        posteriors = predict_posteriors(
            model, {utt: feats_of_teacher[utt] for utt in feats}, batch_size
        )
    else:
        labels, posteriors = read_posteriors(teacher_dir)
    logging.info("teacher %s from %s: classes %s", kind, teacher_dir, labels)
    return align_posteriors(
        posteriors, labels, student_labels, sorted(feats), mapping, where=str(teacher_dir)
    )
