"""The reward registry, one for every task (SER classifiers, audio-language models, captioning).

A reward is a plain function ``(predictions, references, **context) -> list[float]``, one value per
prediction, registered by name so that configs weight rewards by name and tables ablate them::

    @register_reward("my_reward")
    def my_reward(predictions, references, **context):
        return [float(p == r) for p, r in zip(predictions, references)]

    total, parts = combine_rewards({"my_reward": 1.0, "self_max_prob": 0.5}, preds, refs,
                                   utts=utts, student_probs=probs)

Rewards take what they need from ``context`` and ignore the rest; ``utts`` (the utterance ids) is
passed to every reward and names the utterance when a reward is NaN.

B-GRPO rewards (PAPERS.md §2; classifier actions are class indices, references unused):
- ``self_max_prob``: the student's maximum softmax probability;
- ``self_neg_entropy``: ``1 - H(p) / log C`` of the student's posterior;
- ``teacher_prob``: the teacher's probability of the student's action;
- ``teacher_agreement``: 1 when the teacher's argmax equals the student's action, else 0;
- ``teacher_max_prob``: the teacher's maximum probability.
Context: ``student_probs`` and ``teacher_probs``, arrays ``[N, C]`` in the student's class order.
Convention: a reward that reads ``teacher_probs`` has a name starting with ``teacher_`` (stage 4
computes the teacher's posteriors only when such a reward is configured).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

RewardFn = Callable[..., Sequence[float]]

_REGISTRY: dict[str, RewardFn] = {}


class RewardError(ValueError):
    """A reward is unknown, misconfigured, or returned a bad value."""


def register_reward(name: str) -> Callable[[RewardFn], RewardFn]:
    """Decorator registering a reward function under ``name`` (names are unique)."""

    def decorator(fn: RewardFn) -> RewardFn:
        if name in _REGISTRY:
            raise RewardError(f"reward {name!r} is already registered")
        _REGISTRY[name] = fn
        return fn

    return decorator


def get_reward(name: str) -> RewardFn:
    """The reward function registered as ``name``."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise RewardError(f"unknown reward {name!r}; registered: {reward_names()}") from None


def reward_names() -> list[str]:
    """All registered reward names, sorted."""
    return sorted(_REGISTRY)


def parse_reward_spec(spec: str | dict) -> dict[str, float]:
    """``"a=1,b=0.5"`` (command line) or ``{a: 1, b: 0.5}`` (yaml) -> checked ``{name: weight}``."""
    if isinstance(spec, str):
        items = {}
        for part in filter(None, (p.strip() for p in spec.split(","))):
            name, sep, weight = part.partition("=")
            if not sep:
                raise RewardError(f"reward spec {spec!r}: expected name=weight, got {part!r}")
            try:
                items[name.strip()] = float(weight)
            except ValueError:
                raise RewardError(
                    f"reward spec {spec!r}: weight of {name!r} is not a number"
                ) from None
        spec = items
    if not isinstance(spec, dict) or not spec:
        raise RewardError(f"reward spec {spec!r}: expected a non-empty mapping of name to weight")
    for name in spec:
        get_reward(name)
    return {name: float(weight) for name, weight in spec.items()}


def combine_rewards(
    spec: dict[str, float],
    predictions: Sequence,
    references: Sequence | None = None,
    utts: Sequence[str] | None = None,
    **context,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Weighted sum of rewards: ``(total [N], {name: values [N]})`` (float64, unweighted parts).

    Stops naming the reward and the utterance when a value is NaN or Inf, and when a reward gives
    the wrong number of values.
    """
    if not spec:
        raise RewardError("empty reward spec: give at least one reward with a weight")
    n = len(predictions)
    total = np.zeros(n)
    parts = {}
    for name, weight in spec.items():
        values = np.asarray(get_reward(name)(predictions, references, utts=utts, **context), float)
        if values.shape != (n,):
            raise RewardError(f"reward {name!r} gave {values.shape} values for {n} predictions")
        bad = np.flatnonzero(~np.isfinite(values))
        if bad.size:
            where = utts[bad[0]] if utts is not None else f"prediction {bad[0]}"
            raise RewardError(f"reward {name!r} is {values[bad[0]]} for utterance {where}")
        parts[name] = values
        total += weight * values
    return total, parts


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


@register_reward("self_max_prob")
def self_max_prob(predictions, references, **context) -> list[float]:
    """The student's maximum softmax probability (its confidence)."""
    probs = _context_probs(context, "student_probs", "self_max_prob", len(predictions))
    return probs.max(axis=1).tolist()


@register_reward("self_neg_entropy")
def self_neg_entropy(predictions, references, **context) -> list[float]:
    """``1 - H(p) / log C``: 1 for a one-hot posterior, 0 for a uniform one."""
    probs = _context_probs(context, "student_probs", "self_neg_entropy", len(predictions))
    # 0 * log 0 = 0 (scipy.special.entr does the same, but scipy is not a declared dependency)
    with np.errstate(divide="ignore", invalid="ignore"):
        plogp = np.where(probs > 0, probs * np.log(probs), 0.0)
    return (1.0 + plogp.sum(axis=1) / np.log(probs.shape[1])).tolist()


@register_reward("teacher_prob")
def teacher_prob(predictions, references, **context) -> list[float]:
    """The teacher's probability of the student's action."""
    probs = _context_probs(context, "teacher_probs", "teacher_prob", len(predictions))
    actions = _actions(predictions, probs.shape[1], "teacher_prob")
    return probs[np.arange(len(actions)), actions].tolist()


@register_reward("teacher_agreement")
def teacher_agreement(predictions, references, **context) -> list[float]:
    """1 when the teacher's top class is the student's action, else 0."""
    probs = _context_probs(context, "teacher_probs", "teacher_agreement", len(predictions))
    actions = _actions(predictions, probs.shape[1], "teacher_agreement")
    return (probs.argmax(axis=1) == actions).astype(float).tolist()


@register_reward("teacher_max_prob")
def teacher_max_prob(predictions, references, **context) -> list[float]:
    """The teacher's maximum probability (its confidence on the utterance)."""
    probs = _context_probs(context, "teacher_probs", "teacher_max_prob", len(predictions))
    return probs.max(axis=1).tolist()
