"""EMO-RL rewards: accuracy, format and ESWR on hand-made cases."""

from __future__ import annotations

import json
import math

import pytest

from emorl.data.labels import LABEL_SETS
from emorl.rl.rewards import RewardError, build_rewards, get_reward
from emorl.rl.rewards.emo import scheduled_alpha

MINI = list(LABEL_SETS["mini_emo"])
NEIGHBOUR = 0.5 * (math.cos(math.radians(45)) + 1)  # 0.8536


def test_accuracy_reads_answers_as_labels():
    preds = ["Happy.", "happiness", "sad", "", "happy or sad"]
    refs = ["happy", "happy", "angry", "neutral", "happy"]
    assert get_reward("accuracy")(preds, refs, label_set=MINI) == [1.0, 1.0, 0.0, 0.0, 0.0]


def test_accuracy_stops_on_a_reference_outside_the_label_set():
    with pytest.raises(RewardError, match="reference label 'calm' of u2 is not in the label set"):
        get_reward("accuracy")(["calm", "x"], ["happy", "calm"], label_set=MINI, utts=["u1", "u2"])


def test_format_reward_checks_the_requested_format():
    completions = [
        "<answer>happy</answer>",
        "<think>bright</think><answer>happy</answer>",
        "<think><content></content><acoustics>high</acoustics><summary>s</summary></think>"
        "<answer>happy</answer>",
        "<think>bright</think><answer>hap",
    ]
    preds = ["happy", "happy", "happy", ""]
    for fmt, expected in [
        ("answer", [1.0, 0.0, 0.0, 0.0]),
        ("think", [0.0, 1.0, 0.0, 0.0]),
        ("esr", [0.0, 0.0, 1.0, 0.0]),
    ]:
        reward = get_reward("format", format=fmt)
        assert reward(preds, None, completions=completions) == expected
    with pytest.raises(RewardError, match="needs the option 'format'"):
        get_reward("format")
    with pytest.raises(RewardError, match="option format 'json'"):
        get_reward("format", format="json")(preds, None, completions=completions)


@pytest.mark.parametrize(
    "prediction, reference, expected",
    [
        ("happy", "happy", 1.0),  # exact
        ("fear", "surprise", NEIGHBOUR),  # 45-degree neighbours: 0.854 > 0.7
        ("surprise", "fear", NEIGHBOUR),
        ("happy", "fear", 0.0),  # 90 degrees: S = 0.5 <= gamma
        ("happy", "sad", 0.0),  # opposite: S = 0
        ("neutral", "happy", 0.0),  # neutral: S = 0.5
        ("happy", "neutral", 0.0),
        ("neutral", "neutral", 1.0),  # an exact neutral still scores 1
        ("", "happy", 0.0),  # unparsable
        ("bored", "happy", 0.0),  # names no class
    ],
)
def test_eswr_plutchik(prediction, reference, expected):
    reward = get_reward("eswr")
    assert reward([prediction], [reference], label_set=MINI) == [pytest.approx(expected)]


def test_eswr_alpha_and_gamma():
    reward = get_reward("eswr", alpha=0.5)
    assert reward(["fear", "fear"], ["surprise", "fear"], label_set=MINI) == [
        pytest.approx(0.5 * NEIGHBOUR),
        1.0,
    ]
    strict = get_reward("eswr", gamma=0.9)
    assert strict(["fear"], ["surprise"], label_set=MINI) == [0.0]
    loose = get_reward("eswr", gamma=0.4)
    assert loose(["happy"], ["fear"], label_set=MINI) == [pytest.approx(0.5)]


def test_eswr_label_set_option_and_mapped_labels():
    reward = get_reward("eswr", label_set="iemocap6")
    # excited and happy share the wheel's joy: S = 1, so alpha * 1 (alpha < 1 ranks it below exact)
    assert reward(["excited", "frustrated"], ["happy", "sad"]) == [1.0, 0.0]
    assert get_reward("eswr", label_set="iemocap6", alpha=0.8)(["excited"], ["happy"]) == [0.8]


def test_eswr_warns_when_no_pair_earns_partial_credit(caplog):
    # IEMOCAP's 4 classes: angry, happy, sad 90 or 180 degrees apart, and neutral
    get_reward("eswr", label_set="iemocap4")
    assert "ESWR gives no partial credit" in caplog.text
    caplog.clear()
    get_reward("eswr", label_set="mini_emo")  # fear-surprise and surprise-sad are neighbours
    assert "partial credit" not in caplog.text


def test_eswr_label_outside_the_table_stops_naming_it():
    with pytest.raises(RewardError, match="'boredom' has no place on Plutchik's wheel"):
        get_reward("eswr", label_set=["happy", "boredom"])
    with pytest.raises(RewardError, match="'disgust' has no valence-arousal place"):
        get_reward("eswr", similarity="valence_arousal", label_set="meld")
    with pytest.raises(RewardError, match="needs the label set"):
        get_reward("eswr")(["happy"], ["happy"])


def test_eswr_valence_arousal_and_confusion(tmp_path):
    va = get_reward("eswr", similarity="valence_arousal", gamma=0.5)
    # angry (99.0 deg) and fear (116.9 deg): chord 2 sin(8.95 deg) -> S = 1 - sin(8.95 deg)
    assert va(["angry"], ["fear"], label_set=MINI) == [
        pytest.approx(1 - math.sin(math.radians(8.95)))
    ]
    scores = {
        "confusion": {
            "labels": ["angry", "happy", "sad"],
            "matrix": [[5, 5, 0], [3, 7, 0], [0, 1, 9]],
        }
    }
    (tmp_path / "scores.json").write_text(json.dumps(scores))
    reward = get_reward(
        "eswr", similarity="confusion", confusion_file=str(tmp_path / "scores.json"), gamma=0.3
    )
    labels = ["angry", "happy", "sad"]
    # S(angry, happy) = (0.5 + 0.3) / 2 = 0.4 > 0.3; S(sad, happy) = (0.1 + 0) / 2 = 0.05
    assert reward(["happy", "happy"], ["angry", "sad"], label_set=labels) == [
        pytest.approx(0.4),
        0.0,
    ]
    with pytest.raises(RewardError, match="needs a confusion_file"):
        get_reward("eswr", similarity="confusion", label_set=labels)


def test_eswr_linear_schedule():
    assert scheduled_alpha(1.0, "constant", None, 50, 100) == 1.0
    assert scheduled_alpha(1.0, "linear", 0.2, 0, 100) == pytest.approx(1.0)
    assert scheduled_alpha(1.0, "linear", 0.2, 50, 100) == pytest.approx(0.6)
    assert scheduled_alpha(1.0, "linear", 0.2, 100, 100) == pytest.approx(0.2)
    assert scheduled_alpha(1.0, "linear", 0.2, 150, 100) == pytest.approx(0.2)
    reward = get_reward("eswr", alpha_schedule="linear", alpha_end=0.0)
    preds, refs = ["fear", "fear"], ["surprise", "fear"]
    at_quarter = reward(preds, refs, label_set=MINI, step=25, total_steps=100)
    assert at_quarter == [pytest.approx(0.75 * NEIGHBOUR), 1.0]
    with pytest.raises(RewardError, match="needs 'step' and 'total_steps'"):
        reward(preds, refs, label_set=MINI)
    with pytest.raises(RewardError, match="needs alpha_end"):
        get_reward("eswr", alpha_schedule="linear")
    with pytest.raises(RewardError, match="alpha_schedule 'cosine'"):
        get_reward("eswr", alpha_schedule="cosine")


def test_reward_set_with_emo_rewards():
    spec = {"eswr": {"weight": 1.0, "alpha": 0.5}, "format": {"weight": 0.5, "format": "answer"}}
    rewards = build_rewards(spec)
    assert rewards.needs == {"completions"}
    total, parts = rewards(
        ["fear", "happy"],
        ["surprise", "happy"],
        utts=["u1", "u2"],
        completions=["<answer>fear</answer>", "happy"],
        label_set=MINI,
    )
    assert parts["eswr"].tolist() == [pytest.approx(0.5 * NEIGHBOUR), 1.0]
    assert parts["format"].tolist() == [1.0, 0.0]
    assert total.tolist() == [pytest.approx(0.5 * NEIGHBOUR + 0.5), 1.0]
