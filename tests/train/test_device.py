"""select_device and Distributed on one CPU process."""

import pytest
import torch

from emorl.train import Distributed, select_device


def test_select_device():
    assert select_device("cpu") == torch.device("cpu")
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert select_device("auto").type == expected


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the CPU-only message")
def test_cuda_without_cuda_stops():
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        select_device("cuda")


def test_single_process(monkeypatch):
    for name in ("WORLD_SIZE", "RANK", "LOCAL_RANK"):
        monkeypatch.delenv(name, raising=False)
    with Distributed("cpu") as env:
        assert (env.world_size, env.rank, env.is_main) == (1, 0, True)
        assert env.sum([1.0, 2.0]) == [1.0, 2.0]
        model = torch.nn.Linear(2, 2)
        assert env.wrap(model) is model
