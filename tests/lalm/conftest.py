"""Fixtures of the audio-LM tests (helpers in lalm_fixtures.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from lalm_fixtures import TEXTS, TINY_TEXT, save_tiny_whisper

from emorl.lalm.model import AudioLM


@pytest.fixture(scope="session")
def tiny_whisper(tmp_path_factory) -> Path:
    return save_tiny_whisper(tmp_path_factory.mktemp("whisper") / "tiny.pt")


@pytest.fixture
def tiny_lm(tiny_whisper) -> AudioLM:
    """A mini-kind model with a tiny random Whisper tower and a tiny text model."""
    return AudioLM.build_mini(
        TEXTS, whisper_checkpoint=tiny_whisper, vocab_size=400, seed=0, **TINY_TEXT
    ).eval()
