"""AffectGPT-RL's rewards for open-vocabulary emotion recognition (task ov): emotion-wheel rewards.

Predictions are the answer strings parsed from the completions (``""`` when there is none);
references are lists of reference emotion words. Words are split by
:func:`emorl.metrics.wheel.split_words` and scored by per-sample EW-F1
(:func:`emorl.metrics.wheel.ew_f1_per_sample`: F1 of the sample's P and R on the mapped clusters,
averaged over the wheels that score it).

- ``ew_f1`` (factory; options ``wheels``, ``level``, ``length_penalty``, ``wheel_dir``): the
  accuracy reward, the answer's EW-F1 against the reference, times a length penalty if one is set;
- ``ov_format`` (option ``think``): 1 when the completion is well formed (``parsed.format_valid``)
  with a non-empty answer and, when thinking is on (``think=True``), a non-empty think section;
- ``think_answer_alignment`` (factory): EW-F1 between the emotion words of the think text and those
  of the answer (the think words in the role of the reference);
- ``dual_ew`` (factory): the EW-F1 of the think words against the reference.

A sample whose reference maps to nothing (on every wheel) is worth 0. Every completion of a GRPO
group shares the reference, so such a group gets the same 0 everywhere: no advantage, no signal,
rather than a made-up value.

Length penalties, for an answer with more words than the reference (|pred| > |gt|; a word counts
when it maps on at least one of the reward's wheels, as the metric drops the others), multiplying
the EW-F1: ``p1`` = 1 / (|pred| - |gt| + 1), ``p2`` = |gt| / |pred|, ``p3`` = log|gt| / log|pred|.
``p3`` is 0 for every longer answer when |gt| = 1 (log 1 = 0); there it is defined as
log 2 / log(|pred| + 1), as if both counts were one higher, so that one extra word costs about as
much as under ``p2``. The context key ``parsed`` holds one parse per completion, with attributes
``answer``, ``think`` and ``format_valid`` (:mod:`emorl.lalm.prompts`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from emorl.data.wheels import Lexicon, load_lexicon
from emorl.metrics.wheel import (
    check_level,
    default_lexicon,
    ew_f1_per_sample,
    split_words,
    wheel_names,
    words_of,
)
from emorl.rl.rewards.registry import RewardError, register_reward, register_reward_factory

LENGTH_PENALTIES = ("none", "p1", "p2", "p3")


def penalty_factor(kind: str, num_pred: int, num_ref: int) -> float:
    """The factor on the EW reward of an answer of ``num_pred`` words for ``num_ref`` reference
    words: 1 unless ``num_pred > num_ref >= 1`` (see the module docstring for ``p3`` at 1)."""
    if kind not in LENGTH_PENALTIES:
        raise RewardError(f"unknown length penalty {kind!r}; known: {list(LENGTH_PENALTIES)}")
    if kind == "none" or num_ref < 1 or num_pred <= num_ref:
        return 1.0
    if kind == "p1":
        return 1.0 / (num_pred - num_ref + 1)
    if kind == "p2":
        return num_ref / num_pred
    if num_ref == 1:
        return math.log(2) / math.log(num_pred + 1)
    return math.log(num_ref) / math.log(num_pred)


class _WheelScorer:
    """Per-sample EW-F1 on chosen wheels and level, the tables loaded once."""

    def __init__(self, wheels: Sequence[str] | None, level: int, wheel_dir: str | None):
        try:
            self.lexicon: Lexicon = load_lexicon(wheel_dir) if wheel_dir else default_lexicon()
            self.wheels = wheel_names(self.lexicon, wheels)
            self.level = check_level(level)
        except ValueError as e:
            raise RewardError(str(e)) from None

    def f1(self, predictions: Sequence, references: Sequence) -> list[float]:
        values = ew_f1_per_sample(predictions, references, self.lexicon, self.wheels, self.level)
        return [0.0 if v is None else v for v in values]

    def num_mapped(self, words: Sequence[str]) -> int:
        """How many of the (distinct) words map on at least one of the wheels."""
        return sum(
            any(self.lexicon.clusters(w, name, self.level) for name in self.wheels) for w in words
        )


def _parsed(parsed: Sequence | None, n: int, reward: str) -> Sequence:
    if parsed is None or len(parsed) != n:
        got = "none" if parsed is None else len(parsed)
        raise RewardError(f"reward {reward!r}: {got} parses ('parsed') for {n} predictions")
    return parsed


@register_reward_factory("ew_f1")
def ew_f1(
    wheels: Sequence[str] | None = None,
    level: int = 1,
    length_penalty: str = "none",
    wheel_dir: str | None = None,
):
    """The EW-F1 accuracy reward, optionally times a length penalty (none, p1, p2, p3)."""
    scorer = _WheelScorer(wheels, level, wheel_dir)
    if length_penalty not in LENGTH_PENALTIES:
        raise RewardError(
            f"reward 'ew_f1': unknown length_penalty {length_penalty!r}; "
            f"known: {list(LENGTH_PENALTIES)}"
        )

    def reward(predictions, references, **context) -> list[float]:
        if references is None or len(references) != len(predictions):
            raise RewardError("reward 'ew_f1' needs one list of reference words per prediction")
        values = scorer.f1(predictions, references)
        if length_penalty == "none":
            return values
        return [
            value
            * penalty_factor(
                length_penalty, scorer.num_mapped(split_words(p)), scorer.num_mapped(words_of(r))
            )
            for value, p, r in zip(values, predictions, references)
        ]

    return reward


@register_reward("ov_format", needs=("parsed",))
def ov_format(predictions, references, parsed=None, think: bool = True, **context) -> list[float]:
    """1 for a well-formed completion with a non-empty answer (and think section, if ``think``)."""
    parsed = _parsed(parsed, len(predictions), "ov_format")
    return [
        float(
            bool(p.format_valid)
            and bool(split_words(p.answer))
            and (not think or bool(split_words(p.think)))
        )
        for p in parsed
    ]


@register_reward_factory("think_answer_alignment", needs=("parsed",))
def think_answer_alignment(
    wheels: Sequence[str] | None = None, level: int = 1, wheel_dir: str | None = None
):
    """EW-F1 between the think text's emotion words and the answer's (0 without either)."""
    scorer = _WheelScorer(wheels, level, wheel_dir)

    def reward(predictions, references, parsed=None, **context) -> list[float]:
        parsed = _parsed(parsed, len(predictions), "think_answer_alignment")
        return scorer.f1([p.answer for p in parsed], [p.think for p in parsed])

    return reward


@register_reward_factory("dual_ew", needs=("parsed",))
def dual_ew(wheels: Sequence[str] | None = None, level: int = 1, wheel_dir: str | None = None):
    """The EW-F1 of the think text's emotion words against the reference."""
    scorer = _WheelScorer(wheels, level, wheel_dir)

    def reward(predictions, references, parsed=None, **context) -> list[float]:
        parsed = _parsed(parsed, len(predictions), "dual_ew")
        if references is None or len(references) != len(parsed):
            raise RewardError("reward 'dual_ew' needs one list of reference words per prediction")
        return scorer.f1([p.think for p in parsed], references)

    return reward
