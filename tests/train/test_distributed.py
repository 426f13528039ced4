"""emorl.train.Distributed's collective helpers in 2 CPU processes (gloo)."""

from __future__ import annotations

import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from multiproc import run_processes  # noqa: E402

from emorl.train import Distributed  # noqa: E402


def helpers_worker(rank: int, out: Path) -> None:
    with Distributed("cpu") as env:
        torch.manual_seed(rank)  # different weights per process before the broadcast
        model = torch.nn.Linear(3, 2)
        env.broadcast_parameters(model)
        weight = model.weight.detach().clone()
        # rank 0 has a gradient on the weight only; rank 1 on both (its bias grad is summed
        # with rank 0's missing one, counted as zero)
        model.weight.grad = torch.full_like(model.weight, rank + 1.0)
        if rank == 1:
            model.bias.grad = torch.full_like(model.bias, 5.0)
        env.all_reduce_grads(list(model.parameters()))
        result = {
            "world": (env.rank, env.world_size, env.is_main),
            "shard": env.shard(list("abcde")),
            "gather": env.gather({"rank": rank}),
            "sum": env.sum([rank, 0.5]),
            "weight": weight,
            "weight_grad": model.weight.grad,
            "bias_grad": model.bias.grad,
        }
    torch.save(result, out / f"rank{rank}.pt")


def test_shard_gather_sum_broadcast_and_gradient_sum(tmp_path):
    run_processes(helpers_worker, 2, tmp_path)
    r0, r1 = (torch.load(tmp_path / f"rank{r}.pt") for r in (0, 1))
    assert r0["world"] == (0, 2, True) and r1["world"] == (1, 2, False)
    assert r0["shard"] == ["a", "c", "e"] and r1["shard"] == ["b", "d"]
    assert r0["gather"] == r1["gather"] == [{"rank": 0}, {"rank": 1}]
    assert r0["sum"] == r1["sum"] == [1.0, 1.0]
    torch.manual_seed(0)
    assert torch.equal(r0["weight"], torch.nn.Linear(3, 2).weight.detach())  # rank 0's init
    assert torch.equal(r1["weight"], r0["weight"])
    for r in (r0, r1):
        assert torch.equal(r["weight_grad"], torch.full((2, 3), 3.0))
        assert torch.equal(r["bias_grad"], torch.full((2,), 5.0))


def test_one_process_needs_no_process_group():
    env = Distributed("cpu")
    assert (env.world_size, env.rank, env.is_main) == (1, 0, True)
    assert env.shard([1, 2, 3]) == [1, 2, 3] and env.gather("x") == ["x"]
    p = torch.nn.Parameter(torch.ones(2))
    env.all_reduce_grads([p])
    assert p.grad is None  # untouched
