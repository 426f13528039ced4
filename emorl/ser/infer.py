"""Inference: class posteriors per utterance (written as a decode dir, see emorl.ser.decode_dir)."""

from __future__ import annotations

from pathlib import Path

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


def check_dump_matches(model_config: dict, info, feats_dir: Path, model_dir: Path) -> None:
    """The dump must hold what the model was trained on (upstream, layers, dims, pooling)."""
    trained = model_config.get("feats", {})
    dumped = {
        "upstream": info.upstream,
        "layers": list(info.layers),
        "dim": info.dim,
        "pooling": info.pooling,
    }
    for key, value in trained.items():
        if dumped.get(key) != value:
            raise ValueError(
                f"{feats_dir}/feats_info.json: {key}={dumped.get(key)!r}, "
                f"but the model in {model_dir} "
                f"was trained on {key}={value!r}"
            )
    if (info.num_layers, info.dim) != (model_config["num_layers"], model_config["input_dim"]):
        raise ValueError(
            f"{feats_dir}: features of {info.num_layers} layers x {info.dim} dims; "
            f"the model in {model_dir} "
            f"expects {model_config['num_layers']} x {model_config['input_dim']}"
        )
