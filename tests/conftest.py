"""Settings for the whole suite."""

import pytest
import torch


@pytest.fixture(autouse=True)
def one_torch_thread():
    """One torch thread per test: CI has 2 cores, and oversubscribed threads crawl."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def scratch_reward():
    """``add(name, fn, needs=(), factory=False)`` registers a reward removed after the test."""
    from emorl.rl.rewards import register_reward, register_reward_factory, registry

    names = []

    def add(name, fn, needs=(), factory=False):
        (register_reward_factory if factory else register_reward)(name, needs)(fn)
        names.append(name)

    yield add
    for name in names:
        del registry._REGISTRY[name]
