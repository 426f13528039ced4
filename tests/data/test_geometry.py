"""Emotion similarity: Plutchik's wheel, valence-arousal distance, confusion matrices."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from emorl.data.geometry import (
    PLUTCHIK_ANGLES,
    GeometryError,
    SimilarityTable,
    confusion_similarity,
    plutchik_angle,
    plutchik_similarity,
    read_confusion,
    read_valence_arousal,
    valence_arousal_similarity,
)
from emorl.data.labels import LABEL_SETS

NEIGHBOUR = 0.5 * (math.cos(math.radians(45)) + 1)  # 0.8536


def test_wheel_angles():
    assert list(PLUTCHIK_ANGLES.values()) == [0, 45, 90, 135, 180, 225, 270, 315]


@pytest.mark.parametrize(
    "a, b, expected",
    [
        ("happy", "happy", 1.0),
        ("neutral", "neutral", 1.0),
        ("fear", "surprise", NEIGHBOUR),  # 90 and 135 degrees
        ("angry", "disgust", NEIGHBOUR),  # 270 and 225
        ("happy", "calm", NEIGHBOUR),  # joy and trust
        ("happy", "fear", 0.5),  # 90 degrees
        ("happy", "sad", 0.0),  # opposite
        ("fear", "angry", 0.0),  # 90 and 270
        ("neutral", "happy", 0.5),
        ("sad", "neutral", 0.5),
        ("happy", "excited", 1.0),  # same place on the wheel
        ("contempt", "angry", 0.5 * (math.cos(math.radians(22.5)) + 1)),
        ("joy", "anticipation", NEIGHBOUR),  # the wheel's own names work too
    ],
)
def test_plutchik_similarity(a, b, expected):
    assert plutchik_similarity(a, b) == pytest.approx(expected, abs=1e-12)
    assert plutchik_similarity(b, a) == pytest.approx(expected, abs=1e-12)


def test_every_label_of_every_label_set_is_on_the_wheel():
    for name, labels in LABEL_SETS.items():
        for label in labels:
            angle = plutchik_angle(label)
            assert angle is None or 0 <= angle < 360, (name, label)


def test_unknown_label_stops_naming_it():
    with pytest.raises(GeometryError, match="'boredom' has no place on Plutchik's wheel"):
        plutchik_similarity("boredom", "happy")


def test_valence_arousal_similarity():
    assert valence_arousal_similarity("happy", "happy") == 1.0
    assert valence_arousal_similarity("neutral", "sad") == pytest.approx(0.5)
    # happy (7.8 deg) and sad (207.5 deg) are 199.7 degrees apart on the unit circle
    chord = 2 * math.sin(math.radians(199.7) / 2)
    assert valence_arousal_similarity("happy", "sad") == pytest.approx(1 - chord / 2)
    assert valence_arousal_similarity("angry", "fear") > valence_arousal_similarity("angry", "sad")
    with pytest.raises(GeometryError, match="'disgust' has no valence-arousal place"):
        valence_arousal_similarity("disgust", "sad")


def test_valence_arousal_table_file(tmp_path):
    path = tmp_path / "va.txt"
    path.write_text("# label valence arousal\nhappy 0.8 0.5\nsad -0.8 -0.5\ndisgust -0.6 0.3\n")
    table = read_valence_arousal(path)
    assert table["disgust"] == (-0.6, 0.3)
    dist = math.dist((0.8, 0.5), (-0.8, -0.5))
    expected = 1 - dist / (2 * math.sqrt(2))
    assert valence_arousal_similarity("happy", "sad", table) == pytest.approx(expected)
    path.write_text("happy 0.8\n")
    with pytest.raises(GeometryError, match="va.txt:1: expected"):
        read_valence_arousal(path)
    path.write_text("happy 0.8 1.5\n")
    with pytest.raises(GeometryError, match="va.txt:1: valence and arousal must lie"):
        read_valence_arousal(path)


def test_confusion_similarity_is_row_normalised_and_symmetric():
    # rows: reference a, b, c; columns: prediction
    matrix = [[8, 2, 0], [1, 3, 0], [0, 0, 0]]
    sim = confusion_similarity(["a", "b", "c"], matrix)
    # P[a, b] = 2/10, P[b, a] = 1/4 -> (0.2 + 0.25) / 2
    assert sim[0, 1] == pytest.approx(0.225) and sim[1, 0] == pytest.approx(0.225)
    assert np.diag(sim).tolist() == [1.0, 1.0, 1.0]
    assert sim[2, 0] == 0.0  # class c never in the reference: a zero row
    with pytest.raises(GeometryError, match="expected a non-negative \\[2, 2\\]"):
        confusion_similarity(["a", "b"], matrix)


def test_similarity_table_from_a_scores_json(tmp_path):
    scores = {"ua": 0.5, "confusion": {"labels": ["angry", "happy"], "matrix": [[3, 1], [1, 1]]}}
    (tmp_path / "scores.json").write_text(json.dumps(scores))
    assert read_confusion(tmp_path / "scores.json")[0] == ["angry", "happy"]
    table = SimilarityTable.build("confusion", ["happy"], confusion_file=tmp_path / "scores.json")
    assert table("angry", "happy") == pytest.approx((0.25 + 0.5) / 2)
    with pytest.raises(GeometryError, match="labels \\['sad'\\] are not in the confusion matrix"):
        SimilarityTable.build("confusion", ["sad"], confusion_file=tmp_path / "scores.json")
    (tmp_path / "bad.json").write_text(json.dumps({"ua": 0.5}))
    with pytest.raises(GeometryError, match="bad.json: not a SER scores.json"):
        read_confusion(tmp_path / "bad.json")


def test_similarity_table_plutchik_and_unknown_label():
    table = SimilarityTable.build("plutchik", LABEL_SETS["mini_emo"])
    assert table("fear", "surprise") == pytest.approx(NEIGHBOUR)
    with pytest.raises(GeometryError, match="label 'calm' is not in the plutchik similarity table"):
        table("calm", "happy")
    with pytest.raises(GeometryError, match="unknown similarity 'cosine'"):
        SimilarityTable.build("cosine", ["a"])
