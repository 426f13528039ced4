"""Emotion geometry: how similar two emotion labels are, from three sources.

- **Plutchik's wheel**: the eight basic emotions 45 degrees apart; ``S = 0.5 (cos(angle) + 1)``
  (1 at the same angle, 0.854 for neighbours, 0.5 at 90 degrees, 0 for opposites); ``S = 0.5``
  when either label is neutral (neutral has no direction), and ``S = 1`` for identical labels.
- **Valence-arousal**: labels as points of Russell's circumplex (unit circle, neutral at the
  origin); ``S = 1 - dist / 2`` (2, the circle's diameter, is the largest distance possible, so
  neutral against anything is 0.5 as on the wheel).
- **Confusion**: a classifier's confusion matrix, row-normalised (``P[i, j]`` = fraction of class
  ``i`` predicted as ``j``) and symmetrised: ``S[i, j] = (P[i, j] + P[j, i]) / 2`` for ``i != j``,
  ``S[i, i] = 1``.

Every label of every label set of :mod:`emorl.data.labels` has a documented place on the wheel
(:data:`PLUTCHIK_OF_LABEL`). A label outside a table stops with :class:`GeometryError` naming it.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

#: Plutchik's eight basic emotions and their angles on the wheel (degrees).
PLUTCHIK_ANGLES: dict[str, float] = {
    "joy": 0.0,
    "trust": 45.0,
    "fear": 90.0,
    "surprise": 135.0,
    "sadness": 180.0,
    "disgust": 225.0,
    "anger": 270.0,
    "anticipation": 315.0,
}
NEUTRAL = "neutral"

#: Where each corpus label sits on the wheel: a basic emotion, a primary dyad (the midpoint of two
#: neighbouring basic emotions), or neutral. Labels with the same place have similarity 1 without
#: being an exact match (ESWR then gives ``alpha``: keep ``alpha < 1`` to rank them below it).
PLUTCHIK_OF_LABEL: dict[str, str | float] = {
    "angry": "anger",
    "happy": "joy",
    "sad": "sadness",
    "fear": "fear",
    "surprise": "surprise",
    "disgust": "disgust",
    "neutral": NEUTRAL,
    # IEMOCAP's "excited" is high-arousal positive affect: the wheel's joy axis (ecstasy is its
    # intense form); IEMOCAP's 4-class protocol merges it with happy for the same reason.
    "excited": "joy",
    # "frustrated": annoyance is the mild form of anger on the wheel, and frustration is an
    # anger-family state (thwarted goal); it is not one of Plutchik's dyads.
    "frustrated": "anger",
    # RAVDESS "calm": quiet, mildly positive, low arousal. The wheel's mild forms are serenity
    # (joy) and acceptance (trust). Trust keeps calm off happy's exact place while giving it
    # partial credit with happy (45 degrees); neutral would make it equally far from everything
    # (0.5), losing that calm is pleasant.
    "calm": "trust",
    # Contempt is Plutchik's primary dyad of disgust and anger: midway between them.
    "contempt": (PLUTCHIK_ANGLES["disgust"] + PLUTCHIK_ANGLES["anger"]) / 2,
    # MER2023 "worried": apprehension is the mild form of fear.
    "worried": "fear",
}

#: Valence-arousal directions (degrees, 0 = pleasure, 90 = arousal) from Russell (1980), "A
#: circumplex model of affect", J. Pers. Soc. Psychol. 39(6): the circular scaling of 28 affect
#: words. A label takes the angle of its word there (surprise: "astonished", fear: "afraid",
#: worried: "tense"); neutral is the origin. Disgust and contempt are not among the 28 words, so
#: they have no place here: give a table of your own (:func:`read_valence_arousal`) for them.
#: Only the paper's eight reference axes (pleasure 0, excitement 45, arousal 90, distress 135,
#: displeasure 180, depression 225, sleepiness 270, relaxation 315) were checked against it; the
#: word angles below come from a secondary reading and should be checked against its figure.
RUSSELL_ANGLES: dict[str, float] = {
    "happy": 7.8,
    "excited": 48.6,
    "surprise": 69.8,
    "worried": 92.8,
    "angry": 99.0,
    "fear": 116.9,
    "frustrated": 141.1,
    "sad": 207.5,
    "calm": 316.2,
}


class GeometryError(ValueError):
    """A label without a place in a similarity table, or a malformed table."""


def plutchik_angle(label: str) -> float | None:
    """The wheel angle of a corpus label or basic emotion (degrees); ``None`` for neutral."""
    place = PLUTCHIK_OF_LABEL.get(label, label)
    if place == NEUTRAL:
        return None
    if isinstance(place, float):
        return place
    if place not in PLUTCHIK_ANGLES:
        raise GeometryError(
            f"label {label!r} has no place on Plutchik's wheel; known labels: "
            f"{sorted(set(PLUTCHIK_OF_LABEL) | set(PLUTCHIK_ANGLES))}"
        )
    return PLUTCHIK_ANGLES[place]


def plutchik_similarity(a: str, b: str) -> float:
    """``0.5 (cos(angle(a, b)) + 1)``; 1 when ``a == b``; 0.5 when either is neutral."""
    angle_a, angle_b = plutchik_angle(a), plutchik_angle(b)
    if a == b:
        return 1.0
    if angle_a is None or angle_b is None:
        return 0.5
    return 0.5 * (math.cos(math.radians(angle_a - angle_b)) + 1.0)


def valence_arousal(label: str, table: Mapping[str, tuple[float, float]] | None = None):
    """``(valence, arousal)`` of a label: from ``table``, or Russell's angles on the unit circle."""
    if table is not None:
        if label not in table:
            raise GeometryError(
                f"label {label!r} is not in the valence-arousal table ({sorted(table)})"
            )
        return tuple(table[label])
    if label == NEUTRAL:
        return (0.0, 0.0)
    if label not in RUSSELL_ANGLES:
        raise GeometryError(
            f"label {label!r} has no valence-arousal place (known: "
            f"{sorted(RUSSELL_ANGLES) + [NEUTRAL]}); give a table with --va_file"
        )
    angle = math.radians(RUSSELL_ANGLES[label])
    return (math.cos(angle), math.sin(angle))


def read_valence_arousal(path: str | os.PathLike) -> dict[str, tuple[float, float]]:
    """A valence-arousal table: ``<label> <valence> <arousal>`` a line, both in [-1, 1]."""
    table = {}
    for lineno, line in enumerate(Path(path).read_text().splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        try:
            label, valence, arousal = parts[0], float(parts[1]), float(parts[2])
            assert len(parts) == 3
        except (IndexError, ValueError, AssertionError):
            raise GeometryError(
                f"{path}:{lineno}: expected '<label> <valence> <arousal>', got {line!r}"
            ) from None
        if not (-1 <= valence <= 1 and -1 <= arousal <= 1):
            raise GeometryError(f"{path}:{lineno}: valence and arousal must lie in [-1, 1]")
        if label in table:
            raise GeometryError(f"{path}:{lineno}: label {label!r} given twice")
        table[label] = (valence, arousal)
    return table


def valence_arousal_similarity(
    a: str, b: str, table: Mapping[str, tuple[float, float]] | None = None
) -> float:
    """``1 - dist / max_dist`` in the valence-arousal plane; ``max_dist`` is the diameter of the
    unit circle (2) for Russell's angles, the diagonal of ``[-1, 1]^2`` for a table."""
    va_a, va_b = valence_arousal(a, table), valence_arousal(b, table)
    if a == b:
        return 1.0
    max_dist = 2.0 if table is None else 2.0 * math.sqrt(2.0)
    return 1.0 - math.dist(va_a, va_b) / max_dist


def confusion_similarity(labels: Sequence[str], matrix) -> np.ndarray:
    """Similarity ``[C, C]`` from a confusion matrix (rows reference, columns prediction).

    Rows are normalised to fractions (a class never in the reference has a zero row), then
    ``S = (P + P.T) / 2`` with a diagonal of 1.
    """
    counts = np.asarray(matrix, dtype=np.float64)
    if counts.shape != (len(labels), len(labels)) or (counts < 0).any():
        raise GeometryError(
            f"confusion matrix of shape {counts.shape} with labels {list(labels)}: expected a "
            f"non-negative [{len(labels)}, {len(labels)}] matrix"
        )
    totals = counts.sum(axis=1, keepdims=True)
    rates = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)
    similarity = (rates + rates.T) / 2
    np.fill_diagonal(similarity, 1.0)
    return similarity


def read_confusion(path: str | os.PathLike) -> tuple[list[str], np.ndarray]:
    """``(labels, matrix)`` from a SER ``scores.json`` (its ``confusion`` entry)."""
    try:
        scores = json.loads(Path(path).read_text())
        labels, matrix = scores["confusion"]["labels"], scores["confusion"]["matrix"]
    except FileNotFoundError:
        raise GeometryError(f"{path}: no such file") from None
    except (json.JSONDecodeError, KeyError, TypeError) as e:
        raise GeometryError(
            f"{path}: not a SER scores.json with a confusion entry ({e!r})"
        ) from None
    return list(labels), np.asarray(matrix, dtype=np.float64)


class SimilarityTable:
    """``S(a, b)`` over a fixed set of labels, from one source; unknown labels stop naming them."""

    def __init__(self, labels: Sequence[str], matrix, source: str):
        self.labels = list(labels)
        self.index = {label: i for i, label in enumerate(self.labels)}
        self.matrix = np.asarray(matrix, dtype=np.float64)
        self.source = source

    def __call__(self, a: str, b: str) -> float:
        for label in (a, b):
            if label not in self.index:
                raise GeometryError(
                    f"label {label!r} is not in the {self.source} similarity table ({self.labels})"
                )
        return float(self.matrix[self.index[a], self.index[b]])

    @classmethod
    def build(
        cls,
        source: str,
        labels: Sequence[str] | None = None,
        confusion_file: str | os.PathLike | None = None,
        va_file: str | os.PathLike | None = None,
    ) -> SimilarityTable:
        """The table of ``labels`` from ``source`` (``plutchik``, ``valence_arousal`` or
        ``confusion``: the labels of ``confusion_file``, which must include ``labels``)."""
        if source == "confusion":
            if confusion_file is None:
                raise GeometryError("similarity 'confusion' needs a confusion_file (scores.json)")
            conf_labels, matrix = read_confusion(confusion_file)
            missing = sorted(set(labels or ()) - set(conf_labels))
            if missing:
                raise GeometryError(
                    f"labels {missing} are not in the confusion matrix of {confusion_file} "
                    f"({conf_labels})"
                )
            return cls(conf_labels, confusion_similarity(conf_labels, matrix), "confusion")
        if labels is None:
            raise GeometryError(f"similarity {source!r} needs the label set")
        if source == "plutchik":
            fn = plutchik_similarity
        elif source == "valence_arousal":
            table = read_valence_arousal(va_file) if va_file is not None else None

            def fn(a, b):
                return valence_arousal_similarity(a, b, table)
        else:
            raise GeometryError(
                f"unknown similarity {source!r}: expected plutchik, valence_arousal or confusion"
            )
        matrix = [[fn(a, b) for b in labels] for a in labels]
        return cls(labels, matrix, source)
