import csv
import logging
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from emorl.rl.bgrpo import (
    AdaptConfig,
    AdaptData,
    AdaptRun,
    adapt,
    adaptation_step,
    batch_advantages,
)
from emorl.rl.grpo import clipped_policy_loss
from emorl.rl.rewards import RewardError
from emorl.ser.dataset import FeatsDataset
from emorl.ser.infer import predict_posteriors
from emorl.train import CheckpointManager


class OneHotLogits(nn.Module):
    """Logits ``W[k]`` for an utterance whose features are the one-hot vector of ``k``.

    Each utterance owns one row of ``W``, so a sample's gradient shows in its own row only.
    """

    def __init__(self, weight: torch.Tensor):
        super().__init__()
        self.weight = nn.Parameter(weight.clone())

    def forward(self, feats: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return feats[:, 0, 0, :] @ self.weight


# confidences (max softmax probability): a 0.909, b 0.356, c 0.787, d 0.422; mean 0.619
WEIGHT = torch.tensor([[3.0, 0.0, 0.0], [0.0, 0.0, 0.1], [0.0, 2.0, 0.0], [1.0, 1.0, 0.0]])


def step_once(batch, **options):
    model = OneHotLogits(WEIGHT)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    config = AdaptConfig(rewards={"self_max_prob": 1.0}, grad_clip=0.0, **options)
    stats = adaptation_step(model, optimizer, batch, config)
    before = F.log_softmax(WEIGHT, dim=1)
    after = F.log_softmax(model.weight.detach(), dim=1)
    actions = WEIGHT.argmax(dim=1)
    rows = torch.arange(4)
    return model, stats, after[rows, actions] - before[rows, actions]


def test_batch_advantages_on_hand_made_rewards():
    rewards = torch.tensor([1.0, 2.0, 3.0, 6.0])  # mean 3, sample std sqrt(14 / 3)
    assert batch_advantages(rewards).tolist() == pytest.approx([0.0, 0.0, 0.0, 3.0])
    assert batch_advantages(rewards, keep_negative=True).tolist() == pytest.approx(
        [-2.0, -1.0, 0.0, 3.0]
    )
    std = math.sqrt(14 / 3)
    assert batch_advantages(rewards, scale_std=True, eps=0.0).tolist() == pytest.approx(
        [0, 0, 0, 3 / std], abs=1e-6
    )
    assert batch_advantages(
        rewards, scale_std=True, keep_negative=True, eps=0.0
    ).tolist() == pytest.approx([-2 / std, -1 / std, 0.0, 3 / std], abs=1e-6)


def test_step_raises_positive_advantage_actions_and_leaves_zero_advantage_alone(one_hot_batch):
    model, stats, change = step_once(one_hot_batch)
    grad_norms = model.weight.grad.norm(dim=1)
    assert grad_norms[[1, 3]].tolist() == [0.0, 0.0]  # b and d: below the mean reward, A = 0
    assert (grad_norms[[0, 2]] > 0).all()
    assert (change[[0, 2]] > 0).all()
    assert change[[1, 3]].tolist() == [0.0, 0.0]
    assert stats["selection_rate"] == 0.5
    confidences = F.softmax(WEIGHT, dim=1).max(dim=1).values
    assert stats["reward"] == pytest.approx(confidences.mean().item(), abs=1e-6)
    assert stats["reward_self_max_prob"] == pytest.approx(stats["reward"])


def test_bgrpo_gradient_is_grpo_at_rho_one(one_hot_batch):
    """B-GRPO's loss has the gradient of the GRPO core's objective with T = 1 and rho = 1."""
    model, _, _ = step_once(one_hot_batch, keep_negative=True)
    weight = WEIGHT.clone().requires_grad_()
    logp = F.log_softmax(weight, dim=1)
    confidences = F.softmax(WEIGHT, dim=1).max(dim=1).values
    advantages = confidences - confidences.mean()
    loss, _ = clipped_policy_loss(logp.gather(1, WEIGHT.argmax(dim=1)[:, None]), advantages)
    loss.backward()
    torch.testing.assert_close(model.weight.grad, weight.grad)


def test_keep_negative_lowers_below_mean_actions(one_hot_batch):
    model, stats, change = step_once(one_hot_batch, keep_negative=True)
    assert (change[[0, 2]] > 0).all()
    assert (change[[1, 3]] < 0).all()
    assert stats["selection_rate"] == 0.5


def test_std_scaling_scales_the_update(one_hot_batch):
    _, _, plain = step_once(one_hot_batch)
    _, _, scaled = step_once(one_hot_batch, scale_std=True)
    confidences = F.softmax(WEIGHT, dim=1).max(dim=1).values
    assert confidences.std().item() < 1  # so dividing by it enlarges the step
    assert (scaled[[0, 2]] > plain[[0, 2]]).all()


def test_pseudo_label_baseline_uses_confident_utterances_only(one_hot_batch):
    model, stats, change = step_once(one_hot_batch, method="pseudo_label", threshold=0.8)
    grad_norms = model.weight.grad.norm(dim=1)
    assert grad_norms[0] > 0 and grad_norms[1:].tolist() == [0.0, 0.0, 0.0]
    assert change[0] > 0
    assert stats["selection_rate"] == 0.25


def test_entropy_min_lowers_entropy(one_hot_batch):
    model, stats, _ = step_once(one_hot_batch, method="entropy_min")

    def entropy(w):
        p = F.softmax(w, dim=1)
        return -(p * p.log()).sum(dim=1)

    assert (entropy(model.weight.detach()) < entropy(WEIGHT)).all()
    assert stats["method_loss"] == pytest.approx(entropy(WEIGHT).mean().item(), abs=1e-6)
    assert stats["selection_rate"] == 1.0


def test_kl_and_source_ce_terms(one_hot_batch):
    model = OneHotLogits(WEIGHT)
    init = F.softmax(torch.zeros(4, 3), dim=1)  # a uniform initial model
    source = (
        torch.eye(4)[:2, None, None, :],
        torch.ones(2, dtype=torch.long),
        torch.tensor([0, 2]),
        ["s1", "s2"],
    )
    config = AdaptConfig(rewards={"self_max_prob": 1.0}, kl_coef=0.1, source_ce_coef=0.5)
    p = F.softmax(WEIGHT, dim=1)
    expected_kl = (p * (p / init).log()).sum(dim=1).mean().item()
    expected_ce = F.cross_entropy(WEIGHT[:2], torch.tensor([0, 2])).item()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    stats = adaptation_step(
        model, optimizer, one_hot_batch, config, init_probs=init, source_batch=source
    )
    assert stats["kl"] == pytest.approx(expected_kl, abs=1e-6)
    assert stats["source_ce"] == pytest.approx(expected_ce, abs=1e-6)
    assert stats["loss"] == pytest.approx(
        stats["method_loss"] + 0.1 * expected_kl + 0.5 * expected_ce, abs=1e-6
    )


def test_teacher_reward_and_accuracy_statistics(one_hot_batch):
    model = OneHotLogits(WEIGHT)
    teacher = torch.tensor([[0.8, 0.1, 0.1], [0.1, 0.1, 0.8], [0.8, 0.1, 0.1], [0.2, 0.7, 0.1]])
    config = AdaptConfig(rewards={"teacher_agreement": 1.0, "teacher_prob": 1.0})
    labels = torch.tensor([0, 1, 1, -1])  # actions are 0, 2, 1, 0: a and c right, d unknown
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    stats = adaptation_step(
        model, optimizer, one_hot_batch, config, teacher_probs=teacher, analysis_labels=labels
    )
    assert stats["reward_teacher_agreement"] == pytest.approx(0.5)  # a and b agree
    assert stats["reward_teacher_prob"] == pytest.approx((0.8 + 0.8 + 0.1 + 0.2) / 4)
    assert stats["selection_rate"] == 0.5  # a, b: rewards 1.8 above the mean 1.225
    assert stats["pseudo_label_acc"] == pytest.approx(2 / 3)
    assert stats["selected_acc"] == pytest.approx(0.5)  # a right, b wrong
    with pytest.raises(RewardError, match="teacher_probs"):
        adaptation_step(model, optimizer, one_hot_batch, config)


def test_equal_rewards_give_no_update_even_with_sampled_actions(one_hot_batch):
    config = AdaptConfig(rewards={"self_max_prob": 1.0}, action="sample", keep_negative=True)
    weights = []
    for seed in (1, 1, 2):
        model = OneHotLogits(torch.zeros(4, 3))  # uniform: every action equally likely
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        adaptation_step(
            model, optimizer, one_hot_batch, config, generator=torch.Generator().manual_seed(seed)
        )
        weights.append(model.weight.detach())
    # uniform posteriors give equal rewards, hence zero advantages: the step must not move
    assert all(torch.equal(w, torch.zeros(4, 3)) for w in weights)


def test_config_bad_input():
    with pytest.raises(ValueError, match="batch of one has no baseline"):
        AdaptConfig(batch_size=1)
    with pytest.raises(ValueError, match="unknown method"):
        AdaptConfig(method="tent")
    with pytest.raises(ValueError, match="unknown action"):
        AdaptConfig(action="top2")
    with pytest.raises(ValueError, match="'sample' is for bgrpo"):
        AdaptConfig(method="pseudo_label", action="sample")
    with pytest.raises(RewardError, match="unknown reward"):
        AdaptConfig(rewards={"confidence": 1.0})


def adapt_run(tmp_path, make_feats, fit_source_model, seed=0, **options):
    source, source_labels = make_feats(60, shift=0.0, seed=1)
    target, target_labels = make_feats(40, shift=1.0, seed=2)
    model = fit_source_model(source, source_labels)
    init_table = predict_posteriors(model, target)
    analysis = options.pop("analysis", None)
    config = AdaptConfig(**{"epochs": 2, "batch_size": 8, "lr": 0.01, **options})
    data = AdaptData(
        FeatsDataset(target),
        teacher_table=init_table,
        init_table=init_table,
        analysis_labels=target_labels if analysis is None else analysis,
    )
    rows = adapt(model, data, config, AdaptRun(tmp_path, seed=seed))
    return model, rows


def test_adapt_is_deterministic_for_a_seed(tmp_path, make_feats, fit_source_model):
    states = [
        adapt_run(tmp_path / str(i), make_feats, fit_source_model, seed=seed, action="sample")[
            0
        ].state_dict()
        for i, seed in enumerate((3, 3, 4))
    ]
    assert all(torch.equal(states[0][k], states[1][k]) for k in states[0])
    assert not all(torch.equal(states[0][k], states[2][k]) for k in states[0])


def test_adapt_writes_log_and_checkpoints(tmp_path, make_feats, fit_source_model):
    _, rows = adapt_run(tmp_path, make_feats, fit_source_model)
    assert len(rows) == 2 * 5  # 40 utterances in batches of 8, two epochs
    with open(tmp_path / "train_log.csv") as f:
        logged = list(csv.DictReader(f))
    assert [int(r["step"]) for r in logged] == list(range(1, 11))
    for column in (
        "loss",
        "reward",
        "reward_self_max_prob",
        "reward_teacher_prob",
        "selection_rate",
        "pseudo_label_acc",
    ):
        assert all(r[column] != "" for r in logged), column
    assert all(0 < float(r["selection_rate"]) < 1 for r in logged)
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == [
        "epoch001.json",
        "epoch001.pt",
        "epoch002.json",
        "epoch002.pt",
    ]
    assert list((tmp_path / "tensorboard").glob("events.out.tfevents.*"))


def test_target_labels_never_reach_training(tmp_path, make_feats, fit_source_model):
    with_labels, rows = adapt_run(tmp_path / "a", make_feats, fit_source_model)
    without, rows_without = adapt_run(tmp_path / "b", make_feats, fit_source_model, analysis={})
    assert all(
        torch.equal(with_labels.state_dict()[k], without.state_dict()[k])
        for k in with_labels.state_dict()
    )
    assert "pseudo_label_acc" in rows[0] and "pseudo_label_acc" not in rows_without[0]


def test_resume_gives_the_uninterrupted_model(
    tmp_path, make_feats, fit_source_model, monkeypatch, caplog
):
    full, _ = adapt_run(tmp_path / "full", make_feats, fit_source_model, epochs=3)
    save = CheckpointManager.save

    def save_then_die(self, objects, **kwargs):
        save(self, objects, **kwargs)
        raise KeyboardInterrupt  # killed after epoch 1

    monkeypatch.setattr(CheckpointManager, "save", save_then_die)
    with pytest.raises(KeyboardInterrupt):
        adapt_run(tmp_path / "cut", make_feats, fit_source_model, epochs=3)
    monkeypatch.undo()
    source, source_labels = make_feats(60, shift=0.0, seed=1)
    target, _ = make_feats(40, shift=1.0, seed=2)
    model = fit_source_model(source, source_labels)
    table = predict_posteriors(model, target)
    config = AdaptConfig(epochs=3, batch_size=8, lr=0.01)
    data = AdaptData(FeatsDataset(target), table, table)
    with caplog.at_level(logging.INFO):
        rows = adapt(model, data, config, AdaptRun(tmp_path / "cut", resume=True))
    assert "epoch001.pt (epoch 1 done)" in caplog.text
    assert [r["epoch"] for r in rows] == [1] * 5 + [2] * 5 + [3] * 5
    assert all(torch.equal(full.state_dict()[k], model.state_dict()[k]) for k in model.state_dict())
    with open(tmp_path / "cut/train_log.csv") as f:
        assert [int(r["step"]) for r in csv.DictReader(f)] == list(range(1, 16))


def test_resume_with_another_lr_or_init_model_starts_afresh(
    tmp_path, make_feats, fit_source_model, caplog
):
    """Stale result 1: a changed lr or initial model never resumes the old checkpoint."""
    source, source_labels = make_feats(60, shift=0.0, seed=1)
    target, _ = make_feats(40, shift=1.0, seed=2)

    def run(lr, init_hash, epochs=2):
        model = fit_source_model(source, source_labels)
        table = predict_posteriors(model, target)
        data = AdaptData(FeatsDataset(target), table, table)
        settings = AdaptRun(tmp_path, resume=True, fingerprint={"init_model": init_hash})
        adapt(model, data, AdaptConfig(epochs=epochs, batch_size=8, lr=lr), settings)
        return model.state_dict()

    first = run(0.01, "a")
    with caplog.at_level(logging.INFO):
        other_lr = run(0.001, "a")
    assert "lr: 0.01 -> 0.001" in caplog.text and "starting afresh" in caplog.text
    assert not all(torch.equal(first[k], other_lr[k]) for k in first)
    caplog.clear()
    with caplog.at_level(logging.INFO):
        run(0.001, "b")
    assert "other inputs (init_model: 'a' -> 'b')" in caplog.text


def test_adapt_bad_input(tmp_path):
    model = OneHotLogits(WEIGHT)
    one = {"u1": np.zeros((2, 1, 4), dtype=np.float32)}
    with pytest.raises(ValueError, match="unlabeled set is empty"):
        adapt(model, AdaptData(FeatsDataset({})), AdaptConfig(), AdaptRun(tmp_path))
    with pytest.raises(ValueError, match="one utterance"):
        adapt(model, AdaptData(FeatsDataset(one)), AdaptConfig(), AdaptRun(tmp_path))
    two = {**one, "u2": np.ones((2, 1, 4), dtype=np.float32)}
    with pytest.raises(ValueError, match="initial model's posteriors"):
        adapt(model, AdaptData(FeatsDataset(two)), AdaptConfig(kl_coef=0.1), AdaptRun(tmp_path))
    with pytest.raises(ValueError, match="labeled source data"):
        adapt(
            model, AdaptData(FeatsDataset(two)), AdaptConfig(source_ce_coef=1.0), AdaptRun(tmp_path)
        )


def test_self_reward_bgrpo_improves_shifted_target(tmp_path, make_feats, fit_source_model):
    """Self-training signal: on a moderately shifted target, accuracy rises (3 seeds)."""
    torch.set_num_threads(1)
    before, after = [], []
    for seed in range(3):
        source, source_labels = make_feats(120, shift=0.0, seed=10 + seed)
        target, target_labels = make_feats(120, shift=1.4, seed=20 + seed)
        model = fit_source_model(source, source_labels, seed=seed)

        def accuracy(model=model, target=target, target_labels=target_labels):
            posteriors = predict_posteriors(model, target)
            return np.mean([posteriors[u].argmax() == target_labels[u] for u in target])

        before.append(accuracy())
        config = AdaptConfig(rewards={"self_max_prob": 1.0}, epochs=10, batch_size=16, lr=3e-3)
        adapt(model, AdaptData(FeatsDataset(target)), config, AdaptRun(tmp_path / str(seed), seed))
        after.append(accuracy())
    assert np.mean(before) < 0.9
    assert np.mean(after) > np.mean(before) + 0.02
