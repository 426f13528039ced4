"""The utterance classifier over dumped features, and its on-disk format.

``SERClassifier`` maps features ``[B, T, L, D]`` (``lengths [B]`` valid frames each) to logits
``[B, C]``: per-dimension input normalisation (statistics of the training set, stored in the model),
a learnable softmax-weighted sum over the ``L`` layers (the SUPERB protocol) when ``L > 1``,
pooling over frames, and an MLP head.

Pooling: ``stats`` (masked mean and standard deviation), ``attentive`` (attentive statistics
pooling: the mean and standard deviation weighted by a learned per-frame attention), ``mean``
(masked mean; enough for dumps already pooled to one frame).

A model directory holds ``model.pt`` (``state_dict``, ``config``, ``labels``) and ``labels`` (the
class order, one per line); :func:`save_model` writes it and :func:`load_model` reads it. Every
trainer (supervised, B-GRPO) writes this format, so inference and scoring read any of them.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn

import emorl
from emorl.atomic import atomic_write
from emorl.safe_load import CheckpointError, load_checkpoint_file

POOLINGS = ("stats", "attentive", "mean")
#: Keys of the model config that define the architecture (``SERClassifier(**...)``).
ARCH_KEYS = (
    "input_dim",
    "num_layers",
    "num_classes",
    "pooling",
    "hidden_dims",
    "dropout",
    "attention_dim",
)


def frame_mask(lengths: torch.Tensor, max_len: int) -> torch.Tensor:
    """``[B, max_len]`` bool, True on the valid frames."""
    return torch.arange(max_len, device=lengths.device)[None, :] < lengths[:, None]


def masked_mean_std(
    x: torch.Tensor, weights: torch.Tensor, eps: float = 1e-5
) -> tuple[torch.Tensor, torch.Tensor]:
    """Weighted mean and standard deviation over frames.

    ``x [B, T, D]``; ``weights [B, T]`` sum to 1 over the valid frames and are 0 elsewhere.
    """
    mean = torch.einsum("bt,btd->bd", weights, x)
    var = torch.einsum("bt,btd->bd", weights, (x - mean[:, None, :]) ** 2)
    return mean, torch.sqrt(var.clamp(min=eps))


class SERClassifier(nn.Module):
    """Layer weighting, pooling and an MLP head over features ``[B, T, L, D]``."""

    def __init__(
        self,
        input_dim: int,
        num_layers: int,
        num_classes: int,
        pooling: str = "stats",
        hidden_dims: list[int] | tuple[int, ...] = (256,),
        dropout: float = 0.1,
        attention_dim: int = 128,
    ):
        super().__init__()
        if pooling not in POOLINGS:
            raise ValueError(f"unknown pooling {pooling!r}; choose from {POOLINGS}")
        if num_classes < 2:
            raise ValueError(f"num_classes must be at least 2, got {num_classes}")
        self.config = {
            "input_dim": int(input_dim),
            "num_layers": int(num_layers),
            "num_classes": int(num_classes),
            "pooling": pooling,
            "hidden_dims": [int(h) for h in hidden_dims],
            "dropout": float(dropout),
            "attention_dim": int(attention_dim),
        }
        # Set from the training data by set_normalization(); identity until then.
        self.register_buffer("feat_mean", torch.zeros(num_layers, input_dim))
        self.register_buffer("feat_std", torch.ones(num_layers, input_dim))
        self.layer_logits = nn.Parameter(torch.zeros(num_layers)) if num_layers > 1 else None
        if pooling == "attentive":
            self.attention = nn.Sequential(
                nn.Linear(input_dim, attention_dim), nn.Tanh(), nn.Linear(attention_dim, 1)
            )
        pooled_dim = input_dim if pooling == "mean" else 2 * input_dim
        layers: list[nn.Module] = []
        for hidden in self.config["hidden_dims"]:
            layers += [nn.Linear(pooled_dim, hidden), nn.ReLU(), nn.Dropout(dropout)]
            pooled_dim = hidden
        layers.append(nn.Linear(pooled_dim, num_classes))
        self.head = nn.Sequential(*layers)

    @classmethod
    def from_config(cls, config: dict) -> SERClassifier:
        """Build from a config dict; keys other than :data:`ARCH_KEYS` are ignored."""
        return cls(**{k: config[k] for k in ARCH_KEYS if k in config})

    def set_normalization(self, mean: torch.Tensor, std: torch.Tensor) -> None:
        """Normalise inputs with per-layer, per-dimension statistics ``[L, D]`` (std floored)."""
        self.feat_mean.copy_(torch.as_tensor(mean, dtype=torch.float32))
        self.feat_std.copy_(torch.as_tensor(std, dtype=torch.float32).clamp(min=1e-5))

    def layer_weights(self) -> torch.Tensor:
        """The softmax weights over layers ``[L]``."""
        if self.layer_logits is None:
            return torch.ones(1, device=self.feat_mean.device)
        return torch.softmax(self.layer_logits, dim=0)

    def pool(self, feats: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Normalise, weight layers and pool: ``[B, T, L, D]`` -> ``[B, P]``."""
        if feats.dim() != 4 or feats.shape[2:] != self.feat_mean.shape:
            raise ValueError(
                f"expected features [B, T, {self.config['num_layers']}, "
                f"{self.config['input_dim']}], "
                f"got {list(feats.shape)}"
            )
        x = (feats - self.feat_mean) / self.feat_std
        x = torch.einsum("btld,l->btd", x, self.layer_weights())
        mask = frame_mask(lengths, x.shape[1])
        if self.config["pooling"] == "attentive":
            scores = self.attention(x).squeeze(-1).masked_fill(~mask, float("-inf"))
            weights = torch.softmax(scores, dim=1)
        else:
            weights = mask.float() / lengths.clamp(min=1)[:, None].float()
        mean, std = masked_mean_std(x, weights)
        return mean if self.config["pooling"] == "mean" else torch.cat([mean, std], dim=-1)

    def forward(self, feats: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Logits ``[B, C]`` for features ``[B, T, L, D]`` with ``lengths [B]`` valid frames."""
        return self.head(self.pool(feats, lengths))


def save_model(
    model: SERClassifier, model_dir: str | os.PathLike, labels: list[str], config: dict
) -> None:
    """Write ``model_dir/model.pt`` (state_dict, config, labels) and ``model_dir/labels``.

    ``config`` is the model config (``model.config`` plus anything worth keeping, e.g. the
    ``feats`` info of the training dump, which inference checks); its architecture keys must match
    the model's.
    """
    model = getattr(model, "module", model)  # unwrap DistributedDataParallel
    for key in ARCH_KEYS:
        if key in config and config[key] != model.config[key]:
            raise ValueError(
                f"save_model: config {key}={config[key]!r} but the model has {model.config[key]!r}"
            )
    if len(labels) != model.config["num_classes"]:
        raise ValueError(
            f"save_model: {len(labels)} labels for a model of {model.config['num_classes']} classes"
        )
    model_dir = Path(model_dir)
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    payload = {
        "state_dict": state,
        "config": {**config, **model.config},
        "labels": list(labels),
        "emorl_version": emorl.__version__,
    }
    with atomic_write(model_dir / "model.pt", "wb") as f:
        torch.save(payload, f)
    with atomic_write(model_dir / "labels") as f:
        f.write("".join(f"{label}\n" for label in labels))


def load_model(
    model_dir: str | os.PathLike, device: str | torch.device = "cpu"
) -> tuple[SERClassifier, list[str], dict]:
    """Read a model directory: ``(model in eval mode, labels, config)``."""
    path = Path(model_dir) / "model.pt"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no model; run the training stage first")
    payload = load_checkpoint_file(path, "SER model")
    if not isinstance(payload, dict) or not {"config", "state_dict", "labels"} <= set(payload):
        raise CheckpointError(f"{path}: not an SER model (no config, state_dict and labels)")
    model = SERClassifier.from_config(payload["config"])
    model.load_state_dict(payload["state_dict"])
    return model.to(device).eval(), list(payload["labels"]), payload["config"]


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
