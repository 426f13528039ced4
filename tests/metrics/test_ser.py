"""SER metrics on hand-computed examples."""

from __future__ import annotations

import pytest

from emorl.metrics.ser import (
    UnseenLabelError,
    aggregate,
    confusion_text,
    per_class_text,
    score_predictions,
    ser_scores,
)


def as_dicts(refs: str, hyps: str) -> tuple[dict, dict]:
    utts = [f"u{i}" for i in range(len(refs.split()))]
    return dict(zip(utts, refs.split())), dict(zip(utts, hyps.split()))


# a: 4 refs, b: 2, c: 2 (never predicted), d: no ref (predicted once)
REFS, HYPS = as_dicts("a a a a b b c c", "a a b d b b a a")


def test_scores_with_a_class_never_predicted_and_a_class_absent_from_the_reference():
    s = ser_scores(REFS, HYPS, labels=["a", "b", "c", "d"])
    # recall a = 2/4, b = 2/2, c = 0/2; d has no reference and is not averaged
    assert s["ua"] == pytest.approx((0.5 + 1.0 + 0.0) / 3)
    assert s["wa"] == pytest.approx(4 / 8)
    # precision a = 2/4, b = 2/3; F1 a = 0.5, b = 0.8, c = 0 (never predicted)
    assert s["macro_f1"] == pytest.approx((0.5 + 0.8 + 0.0) / 3)
    assert s["weighted_f1"] == pytest.approx((4 * 0.5 + 2 * 0.8 + 2 * 0.0) / 8)
    assert s["num_utts"] == 8
    assert s["per_class"]["c"] == {
        "precision": None,
        "recall": 0.0,
        "f1": 0.0,
        "support": 2,
        "predicted": 0,
    }
    assert s["per_class"]["d"] == {
        "precision": 0.0,
        "recall": None,
        "f1": None,
        "support": 0,
        "predicted": 1,
    }
    assert s["per_class"]["b"]["precision"] == pytest.approx(2 / 3)
    assert s["confusion"] == {
        "labels": ["a", "b", "c", "d"],
        "matrix": [[2, 1, 0, 1], [0, 2, 0, 0], [2, 0, 0, 0], [0, 0, 0, 0]],
    }


def test_perfect_and_default_label_order():
    s = ser_scores(*as_dicts("b a c", "b a c"))
    assert (s["ua"], s["wa"], s["macro_f1"], s["weighted_f1"]) == (1.0, 1.0, 1.0, 1.0)
    assert s["confusion"]["labels"] == ["a", "b", "c"]


def test_mismatched_utterances_and_unknown_labels_stop():
    refs, hyps = as_dicts("a b", "a b")
    with pytest.raises(ValueError, match=r"1 without prediction \(e.g. \['u1'\]\)"):
        ser_scores(refs, {"u0": "a"})
    with pytest.raises(ValueError, match=r"labels \['b'\] are not among the classes \['a'\]"):
        ser_scores(refs, hyps, labels=["a"])
    with pytest.raises(ValueError, match="no utterances"):
        ser_scores({}, {})


def test_unseen_reference_labels_stop_without_a_label_map():
    refs, hyps = as_dicts("angry joy joy calm", "angry happy happy sad")
    with pytest.raises(
        UnseenLabelError, match=r"'calm': 1 utts \(e.g. u3\), 'joy': 2 utts \(e.g. u1\)"
    ):
        score_predictions(refs, hyps, ["angry", "happy", "sad"])


def test_label_map_scores_the_mapped_and_reports_the_unmapped():
    refs, hyps = as_dicts("angry joy joy calm", "angry happy sad sad")
    s = score_predictions(refs, hyps, ["angry", "happy", "sad"], label_map={"joy": "happy"})
    assert s["unmapped"] == {"calm": 1}
    assert s["num_utts"] == 3
    assert s["wa"] == pytest.approx(2 / 3)
    assert s["ua"] == pytest.approx((1.0 + 0.5) / 2)  # angry 1/1, happy 1/2; sad has no reference
    assert s["per_class"]["sad"]["support"] == 0


def test_aggregate_is_mean_and_sample_std():
    agg = aggregate(
        [{"ua": 0.5, "wa": 0.1}, {"ua": 0.7, "wa": 0.1}, {"ua": 0.9, "wa": 0.1}], keys=["ua", "wa"]
    )
    assert agg["ua"]["mean"] == pytest.approx(0.7)
    assert agg["ua"]["std"] == pytest.approx(0.2)
    assert agg["wa"] == {"mean": pytest.approx(0.1), "std": pytest.approx(0.0), "n": 3}
    assert aggregate([{"ua": 0.4}], keys=["ua"])["ua"] == {"mean": 0.4, "std": 0.0, "n": 1}


def test_text_tables():
    s = ser_scores(REFS, HYPS, labels=["a", "b", "c", "d"])
    lines = confusion_text(s).splitlines()
    assert lines[0].split() == ["ref\\hyp", "a", "b", "c", "d"]
    assert lines[3].split() == ["c", "2", "0", "0", "0"]
    report = per_class_text(s).splitlines()
    assert report[3].split() == ["c", "-", "0.0", "0.0", "2", "0"]
    assert report[4].split() == ["d", "0.0", "-", "-", "0", "1"]
