"""DeepSpeed ZeRO-3 for emorl's SFT and GRPO trainers: the audio-LM's parameters, gradients and
optimiser state sharded over the processes (``--deepspeed ds_zero3.json``).

The trainers call the model's parts one by one (projector, embeddings, text layers, head) instead
of one ``module(x)``. ZeRO-3 gathers a module's shards in hooks on every submodule, so that works
under one condition: **every process runs the same sequence of module calls**, because each
gather is a collective operation and a process that skips one leaves the others waiting forever.
The trainers keep that condition: a process with less to do than the others (an empty share of
a batch; fewer groups to learn from in a GRPO step) runs zero-weighted stand-in passes; a batch's
audio goes through the projector in one call; generation runs until every process has finished
(:meth:`Distributed.all_done`). The frozen audio tower stays outside DeepSpeed
(:meth:`AudioLM.sharded_parts`), replicated on every process: its output is cached or computed
once per clip, a different number of times on different processes.

The DeepSpeed file may leave values to the trainer as ``"auto"`` (the convention of transformers'
integration): the batch sizes and gradient accumulation, ``gradient_clipping`` (the trainer's
``max_grad_norm``), ``bf16.enabled`` (the model's dtype), and the ZeRO-3 bucket sizes (from the
text model's hidden size, with the formulas transformers uses). An explicit value that contradicts
the trainer's options stops with the key and the file.

Gradient accumulation stays with the trainer (``managed_gradient_accumulation: false``: every
:meth:`ZeroEngine.step` is an optimiser step) and the loss stays the trainer's: it is normalised so
that the gradients *summed* over processes are those of the whole batch, and DeepSpeed averages
them, so :meth:`ZeroEngine.backward` multiplies by the number of processes.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import socket
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import torch
from torch import nn

from emorl.train.checkpoint import Checkpoint, CheckpointManager
from emorl.train.distributed import Distributed

AUTO = "auto"
ZERO_DIR = "zero"  # the shards' dir in a run's checkpoints/


class ZeroConfigError(ValueError):
    """A DeepSpeed file that emorl cannot run or that contradicts the trainer's options."""


def _fill(config: dict, key: str, value, path: str, where: str = "") -> None:
    """Set ``config[key]`` where it is missing or ``"auto"``; else require it to equal ``value``."""
    current = config.get(key, AUTO)
    if current == AUTO:
        config[key] = value
    elif current != value:
        raise ZeroConfigError(
            f"{path}: {where}{key} is {current!r}, but the trainer's options make it {value!r}; "
            f'set it to "auto" or to {value!r}'
        )


def zero_config(
    path: str | os.PathLike,
    *,
    micro_batch_per_process: int,
    grad_accum: int,
    world_size: int,
    max_grad_norm: float,
    bf16: bool,
    hidden_size: int,
) -> dict:
    """The DeepSpeed config of file ``path`` with its ``"auto"`` values filled from the trainer's
    options (see the module doc); stops on a file that is not ZeRO stage 3, offloads the optimiser
    (emorl passes its own torch optimiser) or contradicts the options."""
    path = str(path)
    try:
        config = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise ZeroConfigError(f"{path}: not a readable DeepSpeed JSON file ({e})") from None
    zero = config.setdefault("zero_optimization", {})
    if zero.get("stage") != 3:
        raise ZeroConfigError(f"{path}: zero_optimization.stage is {zero.get('stage')!r}, not 3")
    if zero.get("offload_optimizer", {}).get("device", "none") != "none":
        raise ZeroConfigError(
            f"{path}: offload_optimizer needs DeepSpeed's own CPU Adam; emorl's trainers pass "
            "torch's AdamW: set offload_optimizer.device to none"
        )
    if config.get("fp16", {}).get("enabled") is True:
        raise ZeroConfigError(f"{path}: fp16 is not supported; use bf16 (model dtype bfloat16)")
    _fill(config, "train_micro_batch_size_per_gpu", micro_batch_per_process, path)
    _fill(config, "gradient_accumulation_steps", grad_accum, path)
    _fill(config, "train_batch_size", micro_batch_per_process * grad_accum * world_size, path)
    _fill(config, "gradient_clipping", max_grad_norm, path)
    _fill(config.setdefault("bf16", {}), "enabled", bf16, path, "bf16.")
    _fill(zero, "reduce_bucket_size", hidden_size * hidden_size, path, "zero_optimization.")
    _fill(
        zero,
        "stage3_prefetch_bucket_size",
        int(0.9 * hidden_size * hidden_size),
        path,
        "zero_optimization.",
    )
    _fill(zero, "stage3_param_persistence_threshold", 10 * hidden_size, path, "zero_optimization.")
    _fill(config, "managed_gradient_accumulation", False, path)
    return config


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Parts(nn.Module):
    """The modules DeepSpeed shards, under one root (its hooks reach every submodule); its
    forward runs a function of them, so that a pass goes through DeepSpeed's engine."""

    def __init__(self, parts: dict[str, nn.Module]):
        super().__init__()
        self.parts = nn.ModuleDict(parts)

    def forward(self, fn: Callable, *args):
        return fn(*args)


class ZeroEngine:
    """A DeepSpeed ZeRO-3 engine over ``parts`` (name -> module) with the trainer's ``optimizer``
    (a torch optimiser of trainable parameters, all inside ``parts``), configured by the file
    ``path`` and the trainer's options (:func:`zero_config`)."""

    def __init__(
        self,
        path: str | os.PathLike,
        parts: dict[str, nn.Module],
        optimizer: torch.optim.Optimizer,
        world_size: int,
        **options,
    ):
        import deepspeed  # an optional dependency: only runs with --deepspeed need it

        config = zero_config(path, world_size=world_size, **options)

        if not torch.distributed.is_initialized():  # one process, without torchrun
            for key, value in (("RANK", "0"), ("LOCAL_RANK", "0"), ("WORLD_SIZE", "1")):
                os.environ.setdefault(key, value)
            os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
            os.environ.setdefault("MASTER_PORT", str(_free_port()))
            deepspeed.init_distributed(auto_mpi_discovery=False)  # gloo on CPU, nccl on GPU
        self.config = config
        self.world_size = world_size
        self.root = _Parts(parts)
        self.engine, *_ = deepspeed.initialize(model=self.root, optimizer=optimizer, config=config)

    def run(self, fn: Callable, *args):
        """``fn(*args)``, a pass of the model, as a forward of DeepSpeed's engine: the engine
        counts micro-batches there (without it, a second backward before a step would replace
        the first one's gradients instead of adding to them)."""
        return self.engine(fn, *args)

    def backward(self, loss: torch.Tensor) -> None:
        """Accumulate the gradients of ``loss`` (normalised for a sum over processes)."""
        self.engine.backward(loss * self.world_size, scale_wrt_gas=False)

    def step(self) -> float:
        """Reduce the accumulated gradients, clip them and take the optimiser step; returns the
        gradient norm before clipping (NaN when DeepSpeed computed none: no clipping)."""
        self.engine.step()
        norm = self.engine.get_global_grad_norm()
        return math.nan if norm is None else float(norm)

    @contextlib.contextmanager
    def gathered(self) -> Iterator[None]:
        """Every shard gathered on every process (to save the whole model), then re-sharded:
        for that moment every process holds the whole model."""
        import deepspeed

        with deepspeed.zero.GatheredParameters(list(self.root.parameters())):
            yield

    def save(self, directory: Path, tag: str) -> None:
        """Write this process's shards of the weights and optimiser state as ``directory/tag``
        (every process must call it)."""
        self.engine.save_checkpoint(str(directory), tag=tag, save_latest=False)

    def load(self, directory: Path, tag: str) -> None:
        """Restore the shards written by :meth:`save`."""
        path, _ = self.engine.load_checkpoint(
            str(directory), tag=tag, load_lr_scheduler_states=False
        )
        if path is None:
            raise FileNotFoundError(f"{directory / tag}: no DeepSpeed checkpoint")


def run_pass(zero: ZeroEngine | None, fn: Callable, *args):
    """``fn(*args)``, a pass of the model: through ``zero``'s engine when there is one."""
    return fn(*args) if zero is None else zero.run(fn, *args)


def restore_checkpoint(
    checkpoint: Checkpoint, objects: dict, zero: ZeroEngine | None, manager: CheckpointManager
) -> None:
    """Restore ``objects`` and the random generators from ``checkpoint``, and with ``zero`` this
    process's shards saved beside it by :func:`save_checkpoint`."""
    checkpoint.restore(objects)
    if zero is not None:
        zero.load(manager.dir / ZERO_DIR, checkpoint.path.stem)


def save_checkpoint(
    manager: CheckpointManager,
    objects: dict,
    env: Distributed,
    zero: ZeroEngine | None,
    *,
    step: int,
    meta: dict | None = None,
) -> None:
    """The checkpoint of ``step`` (every process calls it): with ``zero`` every process first
    writes its shards into ``checkpoints/zero/<name>/``; then rank 0 writes ``objects`` (the
    manager's files, whose json makes the checkpoint complete) and removes the shards of the
    checkpoints it dropped."""
    if zero is not None:
        zero.save(manager.dir / ZERO_DIR, manager.name_of(step=step))
        env.barrier()
    if env.is_main:
        manager.save(objects, step=step, meta=meta)
        if zero is not None:
            prune_tags(manager.dir / ZERO_DIR, [path.stem for path in manager.paths()])


def prune_tags(directory: Path, keep: Sequence[str]) -> None:
    """Remove the DeepSpeed checkpoints in ``directory`` whose tag is not in ``keep``."""
    if directory.is_dir():
        for tag_dir in directory.iterdir():
            if tag_dir.is_dir() and tag_dir.name not in keep:
                shutil.rmtree(tag_dir)
