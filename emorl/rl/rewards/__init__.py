"""Rewards for every task (SER classifiers, audio-language models, captioning, open vocabulary).

The registry (:mod:`emorl.rl.rewards.registry`) holds rewards by name; each module below registers
the rewards of one task when it is imported, so ``import emorl.rl.rewards`` makes all of them
available to :func:`build_rewards`. Typical use in a trainer::

    reward_set = build_rewards(config.rewards)        # once: factories load their files here
    if "teacher_probs" in reward_set.needs:           # compute expensive context only when asked
        ...
    total, parts = reward_set(predictions, references, utts=utts, **context)
"""

from emorl.rl.rewards.registry import (
    RewardError,
    RewardFactory,
    RewardFn,
    RewardSet,
    build_rewards,
    combine_rewards,
    get_reward,
    parse_reward_spec,
    register_reward,
    register_reward_factory,
    reward_names,
)

# isort: split
# The task modules, one name each (alphabetical): importing one registers its rewards.
from emorl.rl.rewards import (
    caption,  # noqa: F401  MECap-R1: Emo-GRPO (task cap)
    confidence,  # noqa: F401  B-GRPO: classifier confidences
    emo,  # noqa: F401  EMO-RL: accuracy, format, ESWR
    wheel,  # noqa: F401  AffectGPT-RL: emotion-wheel rewards (task ov)
)

__all__ = [
    "RewardError",
    "RewardFactory",
    "RewardFn",
    "RewardSet",
    "build_rewards",
    "combine_rewards",
    "get_reward",
    "parse_reward_spec",
    "register_reward",
    "register_reward_factory",
    "reward_names",
]
