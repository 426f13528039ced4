"""Helpers shared by the upstream and audio-LM tests: a speech-like wave, a tiny random Whisper."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import whisper


def synth_wave(seconds: float, seed: int = 0, sr: int = 16000) -> np.ndarray:
    """A harmonic tone with a gliding pitch plus a little noise: cheap, speech-like enough."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    f0 = rng.uniform(100, 250) * (1 + 0.2 * np.sin(2 * np.pi * rng.uniform(0.5, 3) * t))
    phase = 2 * np.pi * np.cumsum(f0) / sr
    wave = sum(np.sin(k * phase) / k for k in range(1, 6)) * 0.2
    return (wave + 0.01 * rng.standard_normal(t.size)).astype(np.float32)


def save_tiny_whisper(path: Path, n_audio_layer: int = 2, seed: int = 0) -> Path:
    """A randomly initialised Whisper (64 dims) in openai-whisper's checkpoint format."""
    torch.manual_seed(seed)
    dims = whisper.model.ModelDimensions(
        n_mels=80, n_audio_ctx=1500, n_audio_state=64, n_audio_head=4, n_audio_layer=n_audio_layer,
        n_vocab=64, n_text_ctx=8, n_text_state=64, n_text_head=4, n_text_layer=1,
    )  # fmt: skip
    model = whisper.model.Whisper(dims)
    torch.nn.init.zeros_(model.decoder.positional_embedding)  # torch.empty otherwise
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"dims": vars(dims), "model_state_dict": model.state_dict()}, path)
    return path
