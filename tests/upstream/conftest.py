"""Fixtures of the upstream tests (helpers in upstream_fixtures.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from upstream_fixtures import save_tiny_whisper, synth_wave


@pytest.fixture(scope="session")
def tiny_whisper(tmp_path_factory) -> Path:
    return save_tiny_whisper(tmp_path_factory.mktemp("whisper") / "tiny.pt")


@pytest.fixture
def waves() -> list[np.ndarray]:
    """Utterances of different lengths (0.7 s to 3.1 s)."""
    return [synth_wave(s, seed=i) for i, s in enumerate([2.0, 0.7, 3.1, 1.3])]
