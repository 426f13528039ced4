"""Run a test's worker in several CPU processes joined by gloo, as ``torchrun`` would start them."""

from __future__ import annotations

import os
import socket

import torch
import torch.multiprocessing as mp


def free_port() -> int:
    """A TCP port nobody listens on now (for the rendezvous of MASTER_ADDR/MASTER_PORT)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _entry(rank: int, worker, world_size: int, port: int, args: tuple) -> None:
    os.environ.update(
        RANK=str(rank),
        LOCAL_RANK=str(rank),
        WORLD_SIZE=str(world_size),
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
        OMP_NUM_THREADS="1",
    )
    torch.set_num_threads(1)
    worker(rank, *args)
    # Leave as the command-line tools leave (emorl.train.Distributed.close): a process that exits
    # with a live process group can abort at exit (seen once under DeepSpeed: "terminate called
    # without an active exception", SIGABRT, after the run had finished).
    if torch.distributed.is_initialized():
        torch.distributed.barrier()
        torch.distributed.destroy_process_group()


def run_processes(worker, world_size: int, *args) -> None:
    """Call ``worker(rank, *args)`` in ``world_size`` spawned processes with torchrun's
    environment (RANK, LOCAL_RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT); an exception in any
    of them fails the caller. ``worker`` must be a module-level function."""
    mp.start_processes(
        _entry,
        args=(worker, world_size, free_port(), args),
        nprocs=world_size,
        start_method="spawn",
    )
