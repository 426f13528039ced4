"""The GRPO core shared by every RL trainer: group advantages, the clipped objective, k3 KL.

Shapes: ``G`` completions per group, ``N = num_groups * G`` completions, ``T`` tokens (actions) per
completion, padded; a classifier is the case ``T = 1``. Tensors in, tensors out (docs/methods.md,
the GRPO core):

- advantage of completion i in its group: ``A_i = (r_i - mean(r)) / (std(r) + eps)``; the mean and
  the std are taken over the group or over the whole batch, std scaling can be off;
- per token: ``min(rho * A, clip(rho, 1 - eps_clip, 1 + eps_clip) * A) - beta * KL`` with
  ``rho = pi_theta / pi_old`` and the k3 estimator
  ``KL = pi_ref/pi_theta - log(pi_ref/pi_theta) - 1``;
- averaged over a completion's tokens and then over completions ("sequence"), or over all tokens of
  the batch ("token", DAPO).
"""

from __future__ import annotations

import torch

LEVELS = ("group", "batch")
AVERAGES = ("sequence", "token")


def group_advantages(
    rewards: torch.Tensor,
    mean_level: str = "group",
    std_level: str | None = "group",
    eps: float = 1e-4,
    keep_negative: bool = True,
) -> torch.Tensor:
    """Advantages ``[num_groups, G]`` of rewards ``[num_groups, G]``.

    ``mean_level``: baseline is the group mean or the batch mean. ``std_level``: divide by the
    group's or the batch's sample standard deviation (plus ``eps``), or ``None`` for no scaling.
    ``keep_negative=False`` clips advantages at zero (B-GRPO: ``max(0, .)``). Needs ``G >= 2``:
    a group of one has no baseline.
    """
    if rewards.ndim != 2:
        raise ValueError(f"rewards must be [num_groups, G], got shape {tuple(rewards.shape)}")
    if rewards.shape[1] < 2:
        raise ValueError("a group of 1 completion has no baseline: use a group size of at least 2")
    if mean_level not in LEVELS or std_level not in LEVELS + (None,):
        raise ValueError(f"levels must be one of {LEVELS} (std_level also None)")
    rewards = rewards.double()
    whole = rewards.reshape(1, -1)
    baseline = (rewards if mean_level == "group" else whole).mean(dim=1, keepdim=True)
    advantages = rewards - baseline
    if std_level is not None:
        # sample std (correction 1), as in TRL's GRPO trainer
        std = (rewards if std_level == "group" else whole).std(dim=1, keepdim=True)
        advantages = advantages / (std + eps)
    if not keep_negative:
        advantages = advantages.clamp(min=0.0)
    return advantages.float()


def k3_kl(logp: torch.Tensor, ref_logp: torch.Tensor) -> torch.Tensor:
    """Per-token k3 estimate of KL(pi_theta || pi_ref) from the taken tokens' log-probabilities."""
    delta = ref_logp - logp
    return torch.exp(delta) - delta - 1.0


def masked_average(
    values: torch.Tensor, mask: torch.Tensor, average: str = "sequence"
) -> torch.Tensor:
    """Mean of ``values [N, T]`` over valid tokens: per sequence then over sequences, or per token.

    ``mask``: ``[N, T]``, nonzero on valid tokens.
    """
    if average not in AVERAGES:
        raise ValueError(f"average must be one of {AVERAGES}, got {average!r}")
    # where, not a product: padded positions may hold inf (0 * inf would be NaN)
    values = torch.where(mask.bool(), values, torch.zeros_like(values))
    mask = mask.to(values.dtype)
    if average == "token":
        return values.sum() / mask.sum().clamp(min=1.0)
    per_sequence = values.sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)
    return per_sequence.mean()


def clipped_policy_loss(
    logp: torch.Tensor,
    advantages: torch.Tensor,
    old_logp: torch.Tensor | None = None,
    mask: torch.Tensor | None = None,
    clip_eps: float = 0.2,
    ref_logp: torch.Tensor | None = None,
    beta: float = 0.0,
    average: str = "sequence",
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """The GRPO loss (to minimise) and detached statistics.

    ``logp``: ``[N, T]`` log-probabilities of the taken tokens under the policy being trained
    (with gradient); ``advantages``: ``[N]``, one per completion; ``old_logp``: ``[N, T]`` under the
    policy that generated them (``None``: the same policy, so ``rho = 1``); ``mask``: ``[N, T]``,
    1 on real tokens; ``ref_logp``: ``[N, T]`` under the reference policy, needed when ``beta > 0``.
    Statistics: ``kl`` (mean k3), ``clip_fraction`` (tokens where the clipped term is the minimum
    and differs from the unclipped one), ``policy_objective``.
    """
    if logp.ndim != 2 or advantages.shape != logp.shape[:1]:
        raise ValueError(
            f"expected logp [N, T] and advantages [N], "
            f"got {tuple(logp.shape)} and {tuple(advantages.shape)}"
        )
    if old_logp is None:
        old_logp = logp.detach()
    if mask is None:
        mask = torch.ones_like(logp)
    adv = advantages.to(logp.dtype).unsqueeze(1)
    rho = torch.exp(logp - old_logp)
    unclipped = rho * adv
    clipped = rho.clamp(1.0 - clip_eps, 1.0 + clip_eps) * adv
    objective = torch.minimum(unclipped, clipped)
    stats = {"clip_fraction": masked_average((clipped < unclipped).float(), mask, "token")}
    stats["policy_objective"] = masked_average(objective, mask, average).detach()
    if beta > 0:
        if ref_logp is None:
            raise ValueError("beta > 0 needs ref_logp (the reference policy's log-probabilities)")
        kl = k3_kl(logp, ref_logp)
        objective = objective - beta * kl
        stats["kl"] = masked_average(kl, mask, average).detach()
    loss = -masked_average(objective, mask, average)
    return loss, stats
