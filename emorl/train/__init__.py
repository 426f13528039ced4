"""Training plumbing shared by every trainer: device, DDP, checkpoints, step logs."""

from emorl.train.checkpoint import (
    Checkpoint,
    CheckpointError,
    CheckpointManager,
    load_checkpoint_file,
)
from emorl.train.device import select_device
from emorl.train.distributed import Distributed
from emorl.train.logger import StepLogger

__all__ = [
    "Checkpoint",
    "CheckpointError",
    "CheckpointManager",
    "Distributed",
    "StepLogger",
    "load_checkpoint_file",
    "select_device",
]
