"""Inference: class posteriors per utterance (written as a decode dir, see emorl.ser.decode_dir)."""

from __future__ import annotations

import numpy as np
import torch

from emorl.ser.dataset import FeatsDataset, make_loader
from emorl.ser.decode_dir import read_posteriors, write_decode_dir  # noqa: F401  (API)


@torch.no_grad()
def predict_posteriors(
    model: torch.nn.Module,
    feats: dict[str, np.ndarray],
    batch_size: int = 64,
    device: str | torch.device | None = None,
) -> dict[str, np.ndarray]:
    """Softmax posteriors ``utt -> float32 [C]`` for features ``utt -> [T, L, D]``."""
    if device is None:
        device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    posteriors = {}
    for x, lengths, _, utts in make_loader(FeatsDataset(feats), batch_size):
        probs = torch.softmax(model(x.to(device), lengths.to(device)).float(), dim=-1).cpu().numpy()
        posteriors.update(zip(utts, probs))
    model.train(was_training)
    return posteriors
