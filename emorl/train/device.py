"""Which torch device a process runs on."""

from __future__ import annotations

import torch


def select_device(spec: str | torch.device = "auto", local_rank: int | None = None) -> torch.device:
    """The device named by ``spec``: ``auto`` (CUDA when available, else CPU), ``cpu``, ``cuda``
    or ``cuda:N``. A bare ``cuda`` becomes ``cuda:<local_rank>`` when ``local_rank`` is given (one
    GPU per process of a torchrun job); asking for CUDA on a machine without it stops."""
    spec = str(spec)
    if spec == "auto":
        spec = "cuda" if torch.cuda.is_available() else "cpu"
    device = torch.device(spec)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise RuntimeError(f"device {spec!r}: CUDA is not available on this machine")
        if device.index is None and local_rank is not None:
            device = torch.device("cuda", local_rank)
    return device
