"""Fixtures for emorl.ser tests: a tiny fake feature dump with a learnable signal."""

from __future__ import annotations

import numpy as np
import pytest

LABELS = ["angry", "happy", "neutral", "sad"]  # LABEL_SETS["iemocap4"]


def fake_feats(num_utts: int, seed: int, num_layers: int = 2, dim: int = 6, prefix: str = "utt"):
    """``utt -> float32 [T, L, D]`` and ``utt -> label``: the label shifts dim ``class`` of the last
    layer by +2 on every frame; everything else is unit noise."""
    rng = np.random.default_rng(seed)
    feats, utt2emo = {}, {}
    for i in range(num_utts):
        utt = f"{prefix}{i:04d}"
        label = i % len(LABELS)
        x = rng.normal(size=(int(rng.integers(3, 12)), num_layers, dim)).astype(np.float32)
        x[:, -1, label] += 2.0
        feats[utt], utt2emo[utt] = x, LABELS[label]
    return feats, utt2emo


@pytest.fixture
def tiny_feats():
    return fake_feats(48, seed=0)


@pytest.fixture
def labels():
    return list(LABELS)
