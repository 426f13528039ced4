import numpy as np
import pytest
import torch
from torch import nn

from emorl.ser.model import SERClassifier


@pytest.fixture
def one_hot_batch():
    """A batch of 4 utterances with one-hot features ``[4, 1, 1, 4]`` (label ids unknown)."""
    feats = torch.eye(4)[:, None, None, :]
    return feats, torch.ones(4, dtype=torch.long), torch.full((4,), -1), ["a", "b", "c", "d"]


def synthetic_feats(num_utts: int, shift: float, seed: int, num_classes: int = 3, dim: int = 4):
    """``(utt -> [T, 1, D] float32, utt -> class id)``: class clusters, moved by ``shift``."""
    rng = np.random.default_rng(seed)
    centres = 2.0 * np.eye(num_classes, dim)
    feats, labels = {}, {}
    for i in range(num_utts):
        label = i % num_classes
        frames = rng.integers(3, 7)
        x = (
            centres[label]
            + shift * np.array([1.0, 1.0] + [0.0] * (dim - 2))
            + rng.normal(0.0, 0.8, size=(frames, dim))
        )
        feats[f"utt{seed}_{i:03d}"] = x[:, None, :].astype(np.float32)
        labels[f"utt{seed}_{i:03d}"] = label
    return feats, labels


def train_source_model(feats, labels, num_classes: int = 3, epochs: int = 30, seed: int = 0):
    """A small SERClassifier fitted on ``feats`` by plain full-batch cross-entropy."""
    torch.manual_seed(seed)
    dim = next(iter(feats.values())).shape[-1]
    model = SERClassifier(
        input_dim=dim, num_layers=1, num_classes=num_classes, hidden_dims=[16], dropout=0.1
    )
    utts = sorted(feats)
    x = nn.utils.rnn.pad_sequence([torch.from_numpy(feats[u]) for u in utts], batch_first=True)
    lengths = torch.tensor([feats[u].shape[0] for u in utts])
    y = torch.tensor([labels[u] for u in utts])
    optimizer = torch.optim.Adam(model.parameters(), lr=0.03)
    for _ in range(epochs):
        loss = nn.functional.cross_entropy(model(x, lengths), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model.eval()


@pytest.fixture
def make_feats():
    return synthetic_feats


@pytest.fixture
def fit_source_model():
    return train_source_model
