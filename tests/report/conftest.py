"""Fixtures for emorl.report tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from fake_exp import make_exp


@pytest.fixture
def exp_dir(tmp_path) -> Path:
    return make_exp(tmp_path / "egs" / "corpus_a" / "emo1" / "exp")
