"""B-GRPO's rewards for a classifier: the student's and a teacher's confidence in its action.

Predictions are the student's actions (class indices); references are unused. Context:
``student_probs`` and ``teacher_probs``, arrays ``[N, C]`` in the student's class order.

- ``self_max_prob``: the student's maximum softmax probability;
- ``self_neg_entropy``: ``1 - H(p) / log C`` of the student's posterior;
- ``teacher_prob``: the teacher's probability of the student's action;
- ``teacher_agreement``: 1 when the teacher's argmax equals the student's action, else 0;
- ``teacher_max_prob``: the teacher's maximum probability.

The teacher rewards declare ``needs=("teacher_probs",)``: stage 4 computes the teacher's posteriors
only when a configured reward needs them. See docs/methods.md (B-GRPO).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from emorl.rl.rewards.registry import RewardError, register_reward


def _context_probs(context: dict, key: str, reward: str, n: int) -> np.ndarray:
    if context.get(key) is None:
        raise RewardError(f"reward {reward!r} needs {key!r} in its context")
    probs = np.asarray(context[key], dtype=np.float64)
    if probs.ndim != 2 or probs.shape[0] != n:
        raise RewardError(f"reward {reward!r}: {key} has shape {probs.shape}, expected [{n}, C]")
    return probs


def _actions(predictions: Sequence, num_classes: int, reward: str) -> np.ndarray:
    actions = np.asarray(predictions)
    if actions.ndim != 1 or not np.issubdtype(actions.dtype, np.integer):
        raise RewardError(f"reward {reward!r}: predictions must be class indices")
    if actions.size and (actions.min() < 0 or actions.max() >= num_classes):
        raise RewardError(f"reward {reward!r}: a class index is outside [0, {num_classes})")
    return actions


@register_reward("self_max_prob", needs=("student_probs",))
def self_max_prob(predictions, references, **context) -> list[float]:
    """The student's maximum softmax probability (its confidence)."""
    probs = _context_probs(context, "student_probs", "self_max_prob", len(predictions))
    return probs.max(axis=1).tolist()


@register_reward("self_neg_entropy", needs=("student_probs",))
def self_neg_entropy(predictions, references, **context) -> list[float]:
    """``1 - H(p) / log C``: 1 for a one-hot posterior, 0 for a uniform one."""
    probs = _context_probs(context, "student_probs", "self_neg_entropy", len(predictions))
    # 0 * log 0 = 0 (scipy.special.entr does the same, but scipy is not a declared dependency)
    with np.errstate(divide="ignore", invalid="ignore"):
        plogp = np.where(probs > 0, probs * np.log(probs), 0.0)
    return (1.0 + plogp.sum(axis=1) / np.log(probs.shape[1])).tolist()


@register_reward("teacher_prob", needs=("teacher_probs",))
def teacher_prob(predictions, references, **context) -> list[float]:
    """The teacher's probability of the student's action."""
    probs = _context_probs(context, "teacher_probs", "teacher_prob", len(predictions))
    actions = _actions(predictions, probs.shape[1], "teacher_prob")
    return probs[np.arange(len(actions)), actions].tolist()


@register_reward("teacher_agreement", needs=("teacher_probs",))
def teacher_agreement(predictions, references, **context) -> list[float]:
    """1 when the teacher's top class is the student's action, else 0."""
    probs = _context_probs(context, "teacher_probs", "teacher_agreement", len(predictions))
    actions = _actions(predictions, probs.shape[1], "teacher_agreement")
    return (probs.argmax(axis=1) == actions).astype(float).tolist()


@register_reward("teacher_max_prob", needs=("teacher_probs",))
def teacher_max_prob(predictions, references, **context) -> list[float]:
    """The teacher's maximum probability (its confidence on the utterance)."""
    probs = _context_probs(context, "teacher_probs", "teacher_max_prob", len(predictions))
    return probs.max(axis=1).tolist()
