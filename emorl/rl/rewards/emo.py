"""EMO-RL's rewards for an audio-LM that names one emotion class.

Predictions are the answer strings parsed from the completions (``""`` when there is none);
references the utterances' labels. An answer is read as a class of the label set by
:func:`emorl.lalm.prompts.answer_label` (case, punctuation and synonyms ignored); an answer that
names no class, or several, scores 0.

- ``accuracy``: 1 when the answer's class is the reference label, else 0. Context: ``label_set``.
- ``format`` (option ``format: answer|think|esr``, required): 1 when the raw completion has exactly
  the structure of that format (:func:`emorl.lalm.prompts.parse_completion`'s ``format_valid``).
  It re-parses ``completions`` with the requested format rather than reading ``parsed``, so that
  the reward checks the format it is configured with whatever format the trainer parsed with.
- ``eswr``, the Emotion Similarity-Weighted Reward: 1 for an exact match, ``alpha * S(answer,
  label)`` when ``S > gamma``, else 0. Options: ``alpha`` (default 1),
  ``alpha_schedule`` (``constant``, or ``linear`` from ``alpha`` at step 0 to ``alpha_end`` at
  ``total_steps``, read from the context keys ``step`` and ``total_steps``), ``gamma`` (default
  0.7), ``similarity`` (``plutchik``, ``valence_arousal`` with an optional ``va_file``, or
  ``confusion`` with ``confusion_file``, a SER ``scores.json``), ``label_set`` (a registry name or
  a list; default: the ``label_set`` context key). A label outside the similarity table stops,
  naming it, when the table is built.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from emorl.data.geometry import GeometryError, SimilarityTable
from emorl.data.labels import get_label_set
from emorl.lalm.prompts import FORMATS, answer_label, parse_completion
from emorl.rl.rewards.registry import RewardError, register_reward, register_reward_factory

logger = logging.getLogger(__name__)

SCHEDULES = ("constant", "linear")


def _check_references(references: Sequence, label_set: Sequence[str], reward: str, utts) -> None:
    if references is None:
        raise RewardError(f"reward {reward!r} needs the reference labels")
    allowed = set(label_set)
    for i, ref in enumerate(references):
        if ref not in allowed:
            where = utts[i] if utts is not None else f"reference {i}"
            raise RewardError(
                f"reward {reward!r}: reference label {ref!r} of {where} is not in the label set "
                f"{list(label_set)}"
            )


@register_reward("accuracy", needs=("label_set",))
def accuracy(predictions, references, **context) -> list[float]:
    """1 when the answer names the reference label, else 0."""
    label_set = list(context["label_set"])
    _check_references(references, label_set, "accuracy", context.get("utts"))
    return [float(answer_label(p, label_set) == r) for p, r in zip(predictions, references)]


@register_reward("format", needs=("completions",))
def format_reward(predictions, references, *, format: str, **context) -> list[float]:  # noqa: A002
    """1 when the completion has exactly the structure of ``format``, else 0."""
    if format not in FORMATS:
        raise RewardError(f"reward 'format': option format {format!r}, expected one of {FORMATS}")
    completions = context["completions"]
    if len(completions) != len(predictions):
        raise RewardError(
            f"reward 'format': {len(completions)} completions for {len(predictions)} predictions"
        )
    return [float(parse_completion(c, format).format_valid) for c in completions]


def scheduled_alpha(
    alpha: float, schedule: str, alpha_end: float | None, step: int | None, total_steps: int | None
) -> float:
    """``alpha`` (constant), or linear from ``alpha`` at step 0 to ``alpha_end`` at
    ``total_steps`` (held there after it)."""
    if schedule == "constant":
        return alpha
    if step is None or not total_steps:
        raise RewardError("eswr: alpha_schedule linear needs 'step' and 'total_steps' > 0")
    progress = min(max(step / total_steps, 0.0), 1.0)
    return alpha + (alpha_end - alpha) * progress


@register_reward_factory("eswr")
def eswr(
    alpha: float = 1.0,
    alpha_schedule: str = "constant",
    alpha_end: float | None = None,
    gamma: float = 0.7,
    similarity: str = "plutchik",
    confusion_file: str | None = None,
    va_file: str | None = None,
    label_set: str | Sequence[str] | None = None,
):
    """The ESWR reward function with these options (see the module docstring)."""
    if alpha_schedule not in SCHEDULES:
        raise RewardError(f"eswr: alpha_schedule {alpha_schedule!r}, expected one of {SCHEDULES}")
    if alpha_schedule == "linear" and alpha_end is None:
        raise RewardError("eswr: alpha_schedule linear needs alpha_end")
    if alpha_schedule == "constant" and alpha_end is not None:
        raise RewardError("eswr: alpha_end is given but alpha_schedule is constant")
    if isinstance(label_set, str):
        label_set = get_label_set(label_set)
    tables: dict[tuple[str, ...], SimilarityTable] = {}

    def table_of(labels: Sequence[str]) -> SimilarityTable:
        key = tuple(labels)
        if key not in tables:
            try:
                table = SimilarityTable.build(similarity, key, confusion_file, va_file)
                for label in key:  # a label outside the table stops here, naming it
                    table(label, label)
            except GeometryError as e:
                raise RewardError(f"eswr: {e}") from None
            partial = [(a, b) for a in key for b in key if a < b and table(a, b) > gamma]
            if not partial:
                logger.warning(
                    "eswr: no two labels of %s have %s similarity above gamma %g: ESWR gives no "
                    "partial credit here (it equals the accuracy reward)",
                    list(key),
                    similarity,
                    gamma,
                )
            tables[key] = table
        return tables[key]

    if label_set is not None:
        table_of(label_set)

    def eswr_reward(predictions, references, **context) -> list[float]:
        labels = label_set if label_set is not None else context.get("label_set")
        if labels is None:
            raise RewardError("reward 'eswr' needs the label set (option or 'label_set' context)")
        labels = list(labels)
        _check_references(references, labels, "eswr", context.get("utts"))
        table = table_of(labels)
        a = scheduled_alpha(
            alpha, alpha_schedule, alpha_end, context.get("step"), context.get("total_steps")
        )
        rewards = []
        for prediction, reference in zip(predictions, references):
            label = answer_label(prediction, labels)
            if label is None:
                rewards.append(0.0)
            elif label == reference:
                rewards.append(1.0)
            else:
                s = table(label, reference)
                rewards.append(a * s if s > gamma else 0.0)
        return rewards

    return eswr_reward
