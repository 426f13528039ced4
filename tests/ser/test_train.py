"""Pieces of supervised training: feature statistics, class weights, dev evaluation, NaN loss."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from emorl.ser.dataset import FeatsDataset, make_loader
from emorl.ser.model import SERClassifier
from emorl.ser.train import _train_epoch, evaluate, feature_stats, loss_weights
from emorl.train import Distributed


def test_feature_stats_are_over_all_frames(tiny_feats):
    dataset = FeatsDataset(tiny_feats[0])
    frames = np.concatenate([tiny_feats[0][u] for u in dataset.utts])
    mean, std = feature_stats(dataset)
    np.testing.assert_allclose(mean, frames.mean(axis=0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(std, frames.std(axis=0), rtol=1e-4)


def test_balanced_class_weights_are_inverse_frequencies():
    feats = {f"u{i}": np.zeros((1, 1, 2), np.float32) for i in range(4)}
    labels = {"u0": "a", "u1": "a", "u2": "a", "u3": "c"}
    dataset = FeatsDataset(feats, labels, ["a", "b", "c"])
    # sklearn 'balanced': n / (n_classes_present * count)
    torch.testing.assert_close(
        loss_weights(dataset, 3, "balanced"), torch.tensor([4 / 6, 0.0, 2.0])
    )
    assert loss_weights(dataset, 3, "none") is None


def test_evaluate_gives_the_mean_cross_entropy(tiny_feats, labels):
    torch.manual_seed(0)
    model = SERClassifier(6, 2, 4, hidden_dims=[8]).eval()
    dataset = FeatsDataset(*tiny_feats, labels)
    result = evaluate(model, dataset, labels, batch_size=16)
    x, lengths, y, _ = next(iter(make_loader(dataset, batch_size=len(dataset))))
    with torch.no_grad():
        expected = torch.nn.functional.cross_entropy(model(x, lengths), y).item()
    assert result["loss"] == pytest.approx(expected, rel=1e-5)
    assert 0 <= result["ua"] <= 1 and result["num_utts"] == 48


def test_nan_loss_stops_naming_the_batch_and_its_utterances(tiny_feats, labels):
    feats, utt2emo = tiny_feats
    feats = {**feats, "utt0013": np.full_like(feats["utt0013"], np.nan)}
    dataset = FeatsDataset(feats, utt2emo, labels)
    model = SERClassifier(6, 2, 4, hidden_dims=[8])
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    loader = make_loader(dataset, batch_size=4)  # in order: utt0013 is in batch 3
    with pytest.raises(
        FloatingPointError,
        match=r"epoch 2, batch 3: loss is nan on utterances \['utt0012', 'utt0013'",
    ):
        _train_epoch(
            model, loader, torch.nn.CrossEntropyLoss(), optimizer, 1.0, 2, Distributed("cpu")
        )
