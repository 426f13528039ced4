import math

import numpy as np
import pytest

from emorl.rl import rewards
from emorl.rl.rewards import (
    RewardError,
    combine_rewards,
    get_reward,
    parse_reward_spec,
    register_reward,
    reward_names,
)

STUDENT = np.array([[0.7, 0.2, 0.1], [1 / 3, 1 / 3, 1 / 3], [0.0, 0.0, 1.0]])
TEACHER = np.array([[0.1, 0.6, 0.3], [0.5, 0.25, 0.25], [0.2, 0.2, 0.6]])
ACTIONS = np.array([0, 1, 2])
UTTS = ["u1", "u2", "u3"]


@pytest.fixture
def scratch_reward():
    """Register a temporary reward and remove it afterwards."""
    names = []

    def add(name, fn):
        register_reward(name)(fn)
        names.append(name)

    yield add
    for name in names:
        del rewards._REGISTRY[name]


def test_bgrpo_rewards_are_registered():
    expected = {
        "self_max_prob",
        "self_neg_entropy",
        "teacher_prob",
        "teacher_agreement",
        "teacher_max_prob",
    }
    assert expected <= set(reward_names())
    assert reward_names() == sorted(reward_names())


def test_self_rewards_on_hand_computed_values():
    ctx = {"student_probs": STUDENT}
    assert get_reward("self_max_prob")(ACTIONS, None, **ctx) == pytest.approx([0.7, 1 / 3, 1.0])
    h0 = -(0.7 * math.log(0.7) + 0.2 * math.log(0.2) + 0.1 * math.log(0.1))
    expected = [1 - h0 / math.log(3), 0.0, 1.0]  # uniform -> 0, one-hot -> 1 (0 log 0 = 0)
    assert get_reward("self_neg_entropy")(ACTIONS, None, **ctx) == pytest.approx(
        expected, abs=1e-12
    )


def test_teacher_rewards_on_hand_computed_values():
    ctx = {"teacher_probs": TEACHER}
    assert get_reward("teacher_prob")(ACTIONS, None, **ctx) == pytest.approx([0.1, 0.25, 0.6])
    assert get_reward("teacher_agreement")(ACTIONS, None, **ctx) == [0.0, 0.0, 1.0]
    assert get_reward("teacher_max_prob")(ACTIONS, None, **ctx) == pytest.approx([0.6, 0.5, 0.6])


def test_combine_rewards_weights_and_parts():
    total, parts = combine_rewards(
        {"self_max_prob": 1.0, "teacher_prob": 0.5},
        ACTIONS,
        None,
        utts=UTTS,
        student_probs=STUDENT,
        teacher_probs=TEACHER,
    )
    assert parts["self_max_prob"] == pytest.approx([0.7, 1 / 3, 1.0])
    assert parts["teacher_prob"] == pytest.approx([0.1, 0.25, 0.6])
    assert total == pytest.approx([0.75, 1 / 3 + 0.125, 1.3])


def test_nan_reward_names_the_utterance(scratch_reward):
    scratch_reward("test_nan", lambda preds, refs, **ctx: [0.0, float("nan"), 1.0])
    with pytest.raises(RewardError, match=r"test_nan.*utterance u2"):
        combine_rewards({"test_nan": 1.0}, ACTIONS, None, utts=UTTS)


def test_reward_with_wrong_length_stops(scratch_reward):
    scratch_reward("test_short", lambda preds, refs, **ctx: [1.0])
    with pytest.raises(RewardError, match="test_short.*3 predictions"):
        combine_rewards({"test_short": 1.0}, ACTIONS, None)


def test_plain_reward_over_strings(scratch_reward):
    scratch_reward(
        "test_exact", lambda preds, refs, **ctx: [float(p == r) for p, r in zip(preds, refs)]
    )
    total, _ = combine_rewards({"test_exact": 2.0}, ["sad", "happy"], ["sad", "angry"])
    assert total.tolist() == [2.0, 0.0]


def test_registry_errors(scratch_reward):
    scratch_reward("test_dup", lambda preds, refs, **ctx: [])
    with pytest.raises(RewardError, match="already registered"):
        register_reward("test_dup")(lambda preds, refs, **ctx: [])
    with pytest.raises(RewardError, match="unknown reward 'nope'.*self_max_prob"):
        get_reward("nope")
    with pytest.raises(RewardError, match="needs 'teacher_probs'"):
        get_reward("teacher_prob")(ACTIONS, None, student_probs=STUDENT)
    with pytest.raises(RewardError, match="class indices"):
        get_reward("teacher_prob")(np.array([0.5, 1.0, 2.0]), None, teacher_probs=TEACHER)
    with pytest.raises(RewardError, match="outside"):
        get_reward("teacher_agreement")(np.array([0, 1, 3]), None, teacher_probs=TEACHER)
    with pytest.raises(RewardError, match="empty reward spec"):
        combine_rewards({}, ACTIONS, None)


def test_parse_reward_spec():
    assert parse_reward_spec("self_max_prob=1, teacher_prob=0.5") == {
        "self_max_prob": 1.0,
        "teacher_prob": 0.5,
    }
    assert parse_reward_spec({"self_neg_entropy": 2}) == {"self_neg_entropy": 2.0}
    with pytest.raises(RewardError, match="expected name=weight"):
        parse_reward_spec("self_max_prob")
    with pytest.raises(RewardError, match="not a number"):
        parse_reward_spec("self_max_prob=high")
    with pytest.raises(RewardError, match="unknown reward"):
        parse_reward_spec("confidence=1")
    with pytest.raises(RewardError, match="non-empty"):
        parse_reward_spec("")
