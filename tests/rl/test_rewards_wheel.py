"""Emotion-wheel rewards (task ov): EW-F1, length penalties, format, alignment, dual EW."""

import math
from types import SimpleNamespace

import pytest

from emorl.rl.rewards import RewardError, build_rewards, get_reward
from emorl.rl.rewards.wheel import penalty_factor

HEADER = "# name: {name}\n# kind: {kind}\n# version: 1\n# source: a test\n"
TABLES = {
    "fine": ("wheel", "joy joy joy\nanger anger anger\nfear fear fear\nsadness sadness sadness\n"),
    "synonyms": ("synonyms", "glad joy\nscared fear\n"),
    "forms": ("forms", "angry anger\nfearful fear\n"),
}


@pytest.fixture(scope="module")
def wheel_dir(tmp_path_factory):
    directory = tmp_path_factory.mktemp("wheels")
    for name, (kind, body) in TABLES.items():
        (directory / f"{name}.txt").write_text(HEADER.format(name=name, kind=kind) + body)
    return str(directory)


def parse(answer, think=None, valid=True):
    return SimpleNamespace(answer=answer, think=think, format_valid=valid, sections={})


def test_length_penalties_by_hand():
    assert penalty_factor("p1", 5, 2) == pytest.approx(1 / 4)
    assert penalty_factor("p2", 5, 2) == pytest.approx(2 / 5)
    assert penalty_factor("p3", 5, 2) == pytest.approx(math.log(2) / math.log(5))
    # |gt| = 1: log 1 = 0 would zero every longer answer; defined as log 2 / log(|pred| + 1)
    assert penalty_factor("p3", 3, 1) == pytest.approx(0.5)
    for kind in ("none", "p1", "p2", "p3"):
        assert penalty_factor(kind, 2, 2) == penalty_factor(kind, 1, 3) == 1.0
        assert penalty_factor(kind, 4, 0) == 1.0
    with pytest.raises(RewardError, match="unknown length penalty 'p4'"):
        penalty_factor("p4", 3, 1)


def test_ew_f1_on_the_shipped_wheels():
    reward = get_reward("ew_f1")
    values = reward(["Happy, joyful!", "sad", "", "angry"], [["glad"], ["happy"], ["joy"], ["x"]])
    assert values == [1.0, 0.0, 0.0, 0.0]  # the last reference maps to nothing: 0


@pytest.mark.parametrize(
    "penalty, expected", [("none", 0.5), ("p1", 0.5 / 3), ("p2", 0.5 / 3), ("p3", 0.25)]
)
def test_ew_f1_length_penalty_counts_mapped_words(wheel_dir, penalty, expected):
    reward = get_reward("ew_f1", wheel_dir=wheel_dir, length_penalty=penalty)
    # {joy, fear, anger} vs {joy}: P 1/3, R 1, F1 0.5; 3 mapped words (table dropped), |gt| 1
    (value,) = reward(["joy, fearful, angry, table"], [["joy"]])
    assert value == pytest.approx(expected)
    # no penalty when the answer is not longer than the reference
    assert reward(["joy, table, chair"], [["glad", "anger"]]) == [pytest.approx(2 / 3)]


def test_ew_f1_bad_options_stop():
    with pytest.raises(RewardError, match="level must be 1 or 2"):
        get_reward("ew_f1", level=3)
    with pytest.raises(RewardError, match="unknown wheel 'nope'"):
        get_reward("ew_f1", wheels=["nope"])
    with pytest.raises(RewardError, match="unknown length_penalty 'p4'"):
        get_reward("ew_f1", length_penalty="p4")


def test_ov_format_needs_answer_and_think_when_thinking():
    parsed = [
        parse("happy", "the voice is bright"),
        parse("happy", ""),
        parse("...", "bright voice"),
        parse(None, "bright voice"),
        parse("happy", "bright", valid=False),
    ]
    preds = [p.answer or "" for p in parsed]
    assert get_reward("ov_format")(preds, None, parsed=parsed) == [1.0, 0.0, 0.0, 0.0, 0.0]
    no_think = get_reward("ov_format", think=False)(preds, None, parsed=parsed)
    assert no_think == [1.0, 1.0, 0.0, 0.0, 0.0]


def test_think_answer_alignment_and_dual_ew(wheel_dir):
    parsed = [
        parse("fear", "Her voice trembles: she sounds scared."),
        parse("fear, joy", "She sounds scared."),
        parse("joy", "Nothing to say about the voice."),
    ]
    preds = [p.answer for p in parsed]
    align = get_reward("think_answer_alignment", wheel_dir=wheel_dir)
    # think {fear}: answer {fear} F1 1; answer {fear, joy}: P 1/2, R 1, F1 2/3; no emotion: 0
    assert align(preds, None, parsed=parsed) == pytest.approx([1.0, 2 / 3, 0.0])
    dual = get_reward("dual_ew", wheel_dir=wheel_dir)
    assert dual(preds, [["fear"], ["joy"], ["joy"]], parsed=parsed) == [1.0, 0.0, 0.0]


def test_reward_set_declares_parsed_and_combines(wheel_dir):
    spec = {
        "ew_f1": {"weight": 1.0, "wheel_dir": wheel_dir, "length_penalty": "p2"},
        "ov_format": {"weight": 0.5},
        "dual_ew": {"weight": 0.25, "wheel_dir": wheel_dir},
    }
    reward_set = build_rewards(spec)
    assert reward_set.needs == {"parsed"}
    parsed = [parse("joy", "she sounds glad"), parse("", "")]
    total, parts = reward_set(["joy", ""], [["joy"], ["joy"]], utts=["u1", "u2"], parsed=parsed)
    assert total.tolist() == [1.0 + 0.5 + 0.25, 0.0]
    assert parts["ew_f1"].tolist() == [1.0, 0.0]
    with pytest.raises(RewardError, match="reward 'ov_format' needs 'parsed'"):
        reward_set(["joy"], [["joy"]], utts=["u1"])
