"""Fixtures of the recogniser tests (the experiment itself is built in ser_exp.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from ser_exp import make_ser_exp


@pytest.fixture(scope="session")
def ser_exp(tmp_path_factory) -> Path:
    """A trained, decoded and scored stage-3 exp dir over fbank features (see ser_exp.py)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return make_ser_exp(tmp_path_factory.mktemp("recipe"))
    finally:
        torch.set_num_threads(threads)
