import math

import pytest
import torch

from emorl.rl.grpo import clipped_policy_loss, group_advantages, k3_kl, masked_average

REWARDS = torch.tensor([[1.0, 2.0, 3.0], [0.0, 0.0, 1.0]])


def assert_values(tensor, expected):
    torch.testing.assert_close(tensor, torch.tensor(expected), atol=1e-6, rtol=0)


def test_group_advantages_group_mean_and_std():
    adv = group_advantages(REWARDS, eps=0.0)
    s = math.sqrt(1 / 3)  # sample std of (0, 0, 1)
    expected = [[-1.0, 0.0, 1.0], [-1 / 3 / s, -1 / 3 / s, 2 / 3 / s]]
    assert_values(adv, expected)


def test_group_advantages_without_std_and_negatives():
    assert_values(
        group_advantages(REWARDS, std_level=None), [[-1.0, 0.0, 1.0], [-1 / 3, -1 / 3, 2 / 3]]
    )
    assert_values(
        group_advantages(REWARDS, std_level=None, keep_negative=False),
        [[0.0, 0.0, 1.0], [0.0, 0.0, 2 / 3]],
    )


def test_group_advantages_batch_level():
    batch_std = torch.tensor([1.0, 2.0, 3.0, 0.0, 0.0, 1.0]).std().item()
    adv = group_advantages(REWARDS, mean_level="batch", std_level="batch", eps=0.0)
    expected = [[(r - 7 / 6) / batch_std for r in row] for row in REWARDS.tolist()]
    assert_values(adv, expected)
    # group mean, batch std
    adv = group_advantages(REWARDS, std_level="batch", eps=0.0)
    assert adv[0].tolist() == pytest.approx([-1 / batch_std, 0.0, 1 / batch_std], abs=1e-6)


def test_group_advantages_equal_rewards_are_zero_not_nan():
    adv = group_advantages(torch.ones(1, 4))
    assert adv.tolist() == [[0.0, 0.0, 0.0, 0.0]]


def test_group_advantages_bad_input():
    with pytest.raises(ValueError, match="group of 1"):
        group_advantages(torch.ones(4, 1))
    with pytest.raises(ValueError, match=r"\[num_groups, G\]"):
        group_advantages(torch.ones(4))
    with pytest.raises(ValueError, match="levels"):
        group_advantages(REWARDS, mean_level="token")


def test_k3_kl_hand_computed():
    kl = k3_kl(torch.log(torch.tensor([0.5, 0.3])), torch.log(torch.tensor([0.25, 0.3])))
    assert kl.tolist() == pytest.approx([0.5 + math.log(2) - 1, 0.0], abs=1e-6)


def test_rho_one_clipping_inactive_gradient_is_advantage():
    logp = torch.log(torch.tensor([[0.5], [0.25], [0.8]])).requires_grad_()
    adv = torch.tensor([1.0, -2.0, 0.0])
    loss, stats = clipped_policy_loss(logp, adv)
    assert loss.item() == pytest.approx(1 / 3)  # -(1 - 2 + 0) / 3
    loss.backward()
    assert logp.grad[:, 0].tolist() == pytest.approx([-1 / 3, 2 / 3, 0.0])
    assert stats["clip_fraction"].item() == 0.0


def test_rho_outside_clip_range_gives_zero_gradient():
    p = torch.tensor([[0.5], [0.25], [0.55]])
    old = torch.tensor([[0.25], [0.5], [0.5]])  # rho = 2, 0.5, 1.1
    logp = torch.log(p).requires_grad_()
    adv = torch.tensor([1.0, -1.0, 1.0])
    loss, stats = clipped_policy_loss(logp, adv, old_logp=torch.log(old), clip_eps=0.2)
    # objectives: min(2, 1.2) = 1.2; min(-0.5, -0.8) = -0.8; 1.1 (inside the range)
    assert loss.item() == pytest.approx(-(1.2 - 0.8 + 1.1) / 3, abs=1e-6)
    loss.backward()
    assert logp.grad[:, 0].tolist() == pytest.approx([0.0, 0.0, -1.1 / 3], abs=1e-6)
    assert stats["clip_fraction"].item() == pytest.approx(2 / 3)


def test_rho_below_range_with_positive_advantage_is_not_clipped():
    logp = torch.log(torch.tensor([[0.25]])).requires_grad_()
    loss, _ = clipped_policy_loss(
        logp, torch.tensor([1.0]), old_logp=torch.log(torch.tensor([[0.5]]))
    )
    loss.backward()
    assert logp.grad.item() == pytest.approx(-0.5)  # d(-rho * A)/d logp = -rho


def test_kl_term_value_and_statistic():
    logp = torch.log(torch.tensor([[0.5], [0.3]]))
    ref = torch.log(torch.tensor([[0.25], [0.3]]))
    loss, stats = clipped_policy_loss(logp, torch.zeros(2), ref_logp=ref, beta=0.1)
    kl = (0.5 + math.log(2) - 1) / 2
    assert stats["kl"].item() == pytest.approx(kl, abs=1e-6)
    assert loss.item() == pytest.approx(0.1 * kl, abs=1e-6)
    with pytest.raises(ValueError, match="ref_logp"):
        clipped_policy_loss(logp, torch.zeros(2), beta=0.1)


def test_sequence_and_token_averaging():
    logp = torch.zeros(2, 3)
    mask = torch.tensor([[1, 1, 0], [1, 0, 0]])
    adv = torch.tensor([1.0, 4.0])
    seq, _ = clipped_policy_loss(logp, adv, mask=mask, average="sequence")
    tok, _ = clipped_policy_loss(logp, adv, mask=mask, average="token")
    assert seq.item() == pytest.approx(-2.5)  # mean of per-completion means 1 and 4
    assert tok.item() == pytest.approx(-2.0)  # (1 + 1 + 4) / 3 tokens


def test_masked_average_ignores_inf_on_padding():
    values = torch.tensor([[1.0, float("inf")], [3.0, 5.0]])
    mask = torch.tensor([[1, 0], [1, 1]])
    assert masked_average(values, mask).item() == pytest.approx(2.5)
    assert masked_average(values, mask, "token").item() == pytest.approx(3.0)
    with pytest.raises(ValueError, match="average"):
        masked_average(values, mask, "batch")
