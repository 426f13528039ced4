import math

import numpy as np
import pytest

from emorl.rl.rewards import (
    RewardError,
    build_rewards,
    combine_rewards,
    get_reward,
    parse_reward_spec,
    register_reward,
    register_reward_factory,
    reward_names,
)

STUDENT = np.array([[0.7, 0.2, 0.1], [1 / 3, 1 / 3, 1 / 3], [0.0, 0.0, 1.0]])
TEACHER = np.array([[0.1, 0.6, 0.3], [0.5, 0.25, 0.25], [0.2, 0.2, 0.6]])
ACTIONS = np.array([0, 1, 2])
UTTS = ["u1", "u2", "u3"]


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
    with pytest.raises(RewardError, match="non-empty"):
        combine_rewards({}, ACTIONS, None)


def test_parse_reward_spec():
    assert parse_reward_spec("self_max_prob=1, teacher_prob=0.5") == {
        "self_max_prob": {"weight": 1.0},
        "teacher_prob": {"weight": 0.5},
    }
    assert parse_reward_spec({"self_neg_entropy": 2}) == {"self_neg_entropy": {"weight": 2.0}}
    assert parse_reward_spec({"self_neg_entropy": {"weight": 2}}) == {
        "self_neg_entropy": {"weight": 2.0}
    }
    # a command-line string in braces is a yaml mapping; a parsed spec parses to itself
    parsed = parse_reward_spec("{self_max_prob: 1, teacher_prob: {weight: 0.5}}")
    assert parsed == {"self_max_prob": {"weight": 1.0}, "teacher_prob": {"weight": 0.5}}
    assert parse_reward_spec(parsed) == parsed
    with pytest.raises(RewardError, match="expected name=weight"):
        parse_reward_spec("self_max_prob")
    with pytest.raises(RewardError, match="not a number"):
        parse_reward_spec("self_max_prob=high")
    with pytest.raises(RewardError, match="unknown reward"):
        parse_reward_spec("confidence=1")
    with pytest.raises(RewardError, match="non-empty"):
        parse_reward_spec("")
    with pytest.raises(RewardError, match="'teacher_prob': give its weight"):
        parse_reward_spec({"teacher_prob": {}})
    with pytest.raises(RewardError, match="'self_max_prob': weight True is not a finite"):
        parse_reward_spec({"self_max_prob": True})
    with pytest.raises(RewardError, match="weight inf"):
        parse_reward_spec({"self_max_prob": float("inf")})
    with pytest.raises(RewardError, match="not a yaml mapping"):
        parse_reward_spec("{self_max_prob: [1")


def test_options_are_passed_to_the_reward(scratch_reward):
    def scaled(predictions, references, *, scale=1.0, offset=0.0, **context):
        return [scale * p + offset for p in predictions]

    scratch_reward("test_scaled", scaled)
    spec = {"test_scaled": {"weight": 2.0, "scale": 10.0}}
    assert parse_reward_spec(spec) == {"test_scaled": {"weight": 2.0, "scale": 10.0}}
    reward_set = build_rewards(spec)
    assert reward_set.spec == {"test_scaled": {"weight": 2.0, "scale": 10.0}}
    total, parts = reward_set([1.0, 2.0], None)
    assert parts["test_scaled"].tolist() == [10.0, 20.0]  # unweighted, option applied
    assert total.tolist() == [20.0, 40.0]
    assert build_rewards("test_scaled=1")([1.0, 2.0])[0].tolist() == [1.0, 2.0]  # defaults
    assert get_reward("test_scaled", offset=0.5)([1.0], None) == [1.5]


def test_unknown_option_names_the_reward_and_the_option(scratch_reward):
    scratch_reward("test_scaled", lambda preds, refs, scale=1.0, **ctx: [scale] * len(preds))
    with pytest.raises(RewardError, match=r"'test_scaled' has no option 'sclae'.*\['scale'\]"):
        parse_reward_spec({"test_scaled": {"weight": 1, "sclae": 2}})
    with pytest.raises(RewardError, match="'self_max_prob' has no option 'temperature'.*none"):
        build_rewards({"self_max_prob": {"weight": 1, "temperature": 2}})


def test_factory_is_called_once_per_build_with_its_options(scratch_reward):
    calls = []

    def make_lookup(table, default=0.0):
        calls.append((table, default))
        values = {"a": 1.0, "b": 2.0} if table == "t1" else {}
        return lambda predictions, references, **context: [
            values.get(p, default) for p in predictions
        ]

    scratch_reward("test_lookup", make_lookup, factory=True)
    reward_set = build_rewards({"test_lookup": {"weight": 0.5, "table": "t1", "default": -1.0}})
    assert calls == [("t1", -1.0)]
    for _ in range(3):
        total, parts = reward_set(["a", "b", "z"], None)
    assert calls == [("t1", -1.0)]  # calling the set does not rebuild the reward
    assert parts["test_lookup"].tolist() == [1.0, 2.0, -1.0]
    assert total.tolist() == [0.5, 1.0, -0.5]
    build_rewards({"test_lookup": {"weight": 1, "table": "t2"}})
    assert calls == [("t1", -1.0), ("t2", 0.0)]
    with pytest.raises(RewardError, match="'test_lookup' has no option 'tabel'"):
        build_rewards({"test_lookup": {"weight": 1, "tabel": "t1"}})
    with pytest.raises(RewardError, match="'test_lookup' needs the option 'table'"):
        build_rewards("test_lookup=1")
    assert len(calls) == 2  # a bad spec never reaches the factory


def test_factory_taking_kwargs_accepts_any_option(scratch_reward):
    seen = {}

    def factory(**options):
        seen.update(options)
        return lambda predictions, references, **context: [0.0] * len(predictions)

    scratch_reward("test_any", factory, factory=True)
    build_rewards({"test_any": {"weight": 1, "path": "x", "n": 3}})
    assert seen == {"path": "x", "n": 3}


def test_missing_context_names_the_reward_and_the_key():
    reward_set = build_rewards({"self_max_prob": 1.0, "teacher_prob": 1.0})
    with pytest.raises(RewardError, match="'teacher_prob' needs 'teacher_probs'"):
        reward_set(ACTIONS, None, utts=UTTS, student_probs=STUDENT)
    with pytest.raises(RewardError, match="'teacher_prob' needs 'teacher_probs'"):
        reward_set(ACTIONS, None, utts=UTTS, student_probs=STUDENT, teacher_probs=None)
    total, _ = reward_set(ACTIONS, None, student_probs=STUDENT, teacher_probs=TEACHER)
    assert total == pytest.approx([0.8, 1 / 3 + 0.25, 1.6])


def test_needs_is_the_union_over_the_rewards(scratch_reward):
    scratch_reward("test_needs_utts", lambda preds, refs, **ctx: [0.0] * len(preds), ("utts",))
    assert build_rewards("self_max_prob=1,self_neg_entropy=1").needs == {"student_probs"}
    reward_set = build_rewards("self_max_prob=1,teacher_agreement=1,test_needs_utts=0")
    assert reward_set.needs == {"student_probs", "teacher_probs", "utts"}
    assert reward_set.names == ["self_max_prob", "teacher_agreement", "test_needs_utts"]
    assert reward_set.weights == {
        "self_max_prob": 1.0,
        "teacher_agreement": 1.0,
        "test_needs_utts": 0.0,
    }
    with pytest.raises(RewardError, match="'test_needs_utts' needs 'utts'"):
        reward_set(ACTIONS, None, student_probs=STUDENT, teacher_probs=TEACHER)


def test_needed_keys_are_not_options(scratch_reward):
    def uses_key(predictions, references, *, student_probs, floor=0.0, **context):
        return np.maximum(np.asarray(student_probs)[:, 0], floor).tolist()

    scratch_reward("test_key_param", uses_key, ("student_probs",))
    with pytest.raises(RewardError, match="'test_key_param' has no option 'student_probs'"):
        parse_reward_spec({"test_key_param": {"weight": 1, "student_probs": 1}})
    _, parts = build_rewards({"test_key_param": {"weight": 1, "floor": 0.5}})(
        ACTIONS, student_probs=STUDENT
    )
    assert parts["test_key_param"] == pytest.approx([0.7, 0.5, 0.5])


def test_option_clashing_with_a_context_key_stops(scratch_reward):
    scratch_reward("test_scaled", lambda preds, refs, scale=1.0, **ctx: [scale] * len(preds))
    reward_set = build_rewards({"test_scaled": {"weight": 1, "scale": 2.0}})
    with pytest.raises(RewardError, match="'test_scaled': option 'scale' is also a context key"):
        reward_set([0, 1], scale=3.0)


def test_bad_registrations_stop(scratch_reward):
    with pytest.raises(RewardError, match="takes \\(predictions, references, \\*\\*context\\)"):
        register_reward("test_no_context")(lambda preds, refs: [])
    with pytest.raises(RewardError, match="tuple of context keys"):
        register_reward("test_str_needs", needs="teacher_probs")
    with pytest.raises(RewardError, match="already registered"):
        register_reward_factory("self_max_prob")(lambda: None)
    with pytest.raises(RewardError, match="2 utterance ids for 3 predictions"):
        build_rewards("self_max_prob=1")(ACTIONS, utts=["a", "b"], student_probs=STUDENT)
