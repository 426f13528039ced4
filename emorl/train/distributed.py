"""The process's place in a ``torchrun`` job: rank, world size, device, collective helpers."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any, TypeVar

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from emorl.train.device import select_device

T = TypeVar("T")


class Distributed:
    """Rank and world size from torchrun's environment (world size 1 without torchrun).

    With more than one process the default process group is initialised: nccl on GPU, gloo on
    CPU. ``device`` is :func:`~emorl.train.device.select_device` of the spec, one GPU per local
    rank.
    """

    def __init__(self, device: str = "auto"):
        self.world_size = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        self.local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        self.device = select_device(device, self.local_rank if self.world_size > 1 else None)
        if self.device.type == "cuda" and self.world_size > 1:
            torch.cuda.set_device(self.device)  # nccl's object collectives use the current GPU
        if self.world_size > 1 and not dist.is_initialized():
            dist.init_process_group("nccl" if self.device.type == "cuda" else "gloo")
        self.is_main = self.rank == 0

    def wrap(self, model: nn.Module) -> nn.Module:
        """``model`` in DistributedDataParallel when there are several processes, else itself."""
        return DistributedDataParallel(model) if self.world_size > 1 else model

    def sum(self, values: list[float]) -> list[float]:
        """Sum numbers over processes."""
        if self.world_size == 1:
            return values
        t = torch.tensor(values, dtype=torch.float64, device=self.device)
        dist.all_reduce(t)
        return t.tolist()

    def all_done(self, done: bool) -> bool:
        """Whether ``done`` holds on every process (a loop whose passes are collective, as
        under ZeRO-3, runs until then)."""
        if self.world_size == 1:
            return done
        t = torch.tensor([int(done)], device=self.device)
        dist.all_reduce(t, op=dist.ReduceOp.MIN)
        return bool(t.item())

    def shard(self, items: Sequence[T]) -> list[T]:
        """This process's share of ``items``: every ``world_size``-th from its rank (it may be
        empty when there are fewer items than processes)."""
        return list(items[self.rank :: self.world_size])

    def gather(self, value: Any) -> list[Any]:
        """Every process's ``value`` (any picklable object), in rank order, on every process."""
        if self.world_size == 1:
            return [value]
        out: list[Any] = [None] * self.world_size
        dist.all_gather_object(out, value)
        return out

    def broadcast_parameters(self, module: nn.Module) -> None:
        """Copy rank 0's parameters and buffers into every process's ``module`` (what DDP does
        when it wraps a model)."""
        if self.world_size == 1:
            return
        with torch.no_grad():
            for tensor in [*module.parameters(), *module.buffers()]:
                dist.broadcast(tensor.data, 0)

    def all_reduce_grads(self, params: Sequence[torch.Tensor]) -> None:
        """Sum the gradients of ``params`` over processes, in one flat buffer; a parameter
        without a gradient here (its process saw no data that reaches it) counts as zero, and
        gets the sum (every process takes the same optimiser step)."""
        if self.world_size == 1:
            return
        grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
        flat = torch.cat([g.reshape(-1) for g in grads])
        dist.all_reduce(flat)
        offset = 0
        for p, g in zip(params, grads):
            p.grad = flat[offset : offset + g.numel()].view_as(p).to(g.dtype)
            offset += g.numel()

    def barrier(self) -> None:
        """Wait for every process."""
        if self.world_size > 1:
            dist.barrier()

    def close(self) -> None:
        """Tear the process group down (a no-op for one process)."""
        if self.world_size > 1 and dist.is_initialized():
            dist.destroy_process_group()

    def __enter__(self) -> Distributed:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
