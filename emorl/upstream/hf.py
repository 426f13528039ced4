"""``hf:<dir>``: any transformers audio encoder saved in a local directory, all hidden states.

The directory holds what ``save_pretrained`` writes for the model (config.json, weights) and for
its feature extractor (preprocessor_config.json). Supported: the wav2vec 2.0 family (WavLM, HuBERT,
wav2vec2, data2vec-audio, UniSpeech...; 16 kHz waveform in, CNN frame rate) and Whisper encoders
(log-mel in, 50 frames per second; transformers' WhisperEncoder requires 30 s input, so each window
of at most 30 s is padded and the frames covering the audio kept). Nothing is downloaded.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from safetensors import safe_open
from transformers import AutoConfig, AutoFeatureExtractor, AutoModel

from emorl.safe_load import CheckpointError, load_checkpoint_file
from emorl.upstream.base import Upstream, UpstreamError, num_windows, split_windows

PREFIX = "hf:"
WHISPER_SAMPLES = 30 * 16000


def _select(hidden: Sequence[torch.Tensor], layers: Sequence[int] | None) -> list[torch.Tensor]:
    return list(hidden) if layers is None else [hidden[i] for i in layers]


def weights_error(model_dir: Path) -> str | None:
    """What is wrong with the weight files of ``model_dir``, naming the file (None: nothing
    found): a ``*.bin`` is checked with emorl's safe loader, a ``*.safetensors`` by its header."""
    for path in sorted(model_dir.glob("*.bin")):
        try:
            load_checkpoint_file(path, "PyTorch weights file")
        except CheckpointError as bad:
            return str(bad)
    for path in sorted(model_dir.glob("*.safetensors")):
        try:
            with safe_open(path, framework="pt"):
                pass
        except Exception as bad:  # safetensors raises its own SafetensorError, OSError, ...
            return f"{path}: not a safetensors file ({bad})"
    return None


class HFUpstream(Upstream):
    """A transformers encoder from a local directory (``hf:<dir>``)."""

    def __init__(self, name: str, path=None, device: str = "cpu"):
        model_dir = Path(name[len(PREFIX) :] if path is None else path)
        if not (model_dir / "config.json").is_file():
            raise UpstreamError(
                f"{name}: {model_dir}/config.json not found; give a save_pretrained directory"
            )
        if not (model_dir / "preprocessor_config.json").is_file():
            raise UpstreamError(
                f"{name}: {model_dir}/preprocessor_config.json not found; save the model's feature "
                f"extractor there too (AutoFeatureExtractor...save_pretrained('{model_dir}'))"
            )
        config = AutoConfig.from_pretrained(model_dir, local_files_only=True)
        self.name = name
        self.model_dir = model_dir
        self.model_type = config.model_type
        self.device = torch.device(device)
        self.feature_extractor = AutoFeatureExtractor.from_pretrained(
            model_dir, local_files_only=True
        )
        try:
            model = AutoModel.from_pretrained(model_dir, local_files_only=True, dtype=torch.float32)
        except Exception as e:
            # transformers passes on whatever torch's unpickler met in a damaged file
            why = weights_error(model_dir)
            if why is None:
                raise
            raise UpstreamError(f"{name}: {why}") from e
        if self.model_type == "whisper":
            model = model.get_encoder()
            self.frame_rate = 50.0
        elif hasattr(config, "conv_stride"):
            self.frame_rate = 16000 / math.prod(config.conv_stride)
        else:
            raise UpstreamError(
                f"{name}: model type {self.model_type!r} is not a supported audio encoder"
            )
        # requires_grad_(False) also freezes what transformers loads as trainable but is fixed
        # (Whisper's sinusoidal position table).
        self.model = model.eval().requires_grad_(False).to(self.device)
        probe = self._hidden([np.zeros(16000, np.float32)], None)[0]
        self.num_layers, self.dim = probe.shape[1:]

    def _hidden(
        self, waves: Sequence[np.ndarray], layers: Sequence[int] | None
    ) -> list[np.ndarray]:
        """[T, L, D] per waveform; ``layers`` None: all."""
        if self.model_type == "whisper":
            return self._whisper(waves, layers)
        if not self.feature_extractor.return_attention_mask:
            # Models trained without an attention mask (wav2vec2-base style) give different
            # outputs on zero-padded input, so each waveform is encoded alone.
            return [self._wav2vec2([w], layers)[0] for w in waves]
        return self._wav2vec2(waves, layers)

    @torch.inference_mode()
    def _wav2vec2(
        self, waves: Sequence[np.ndarray], layers: Sequence[int] | None
    ) -> list[np.ndarray]:
        inputs = self.feature_extractor(
            list(waves), sampling_rate=16000, padding=True, return_tensors="pt"
        ).to(self.device)
        hidden = self.model(**inputs, output_hidden_states=True).hidden_states
        stacked = torch.stack(_select(hidden, layers), dim=2).float().cpu()
        frames = self.model._get_feat_extract_output_lengths(torch.tensor([w.size for w in waves]))
        return [stacked[b, : int(n)].numpy() for b, n in enumerate(frames)]

    @torch.inference_mode()
    def _whisper(
        self, waves: Sequence[np.ndarray], layers: Sequence[int] | None
    ) -> list[np.ndarray]:
        owner, windows = [], []
        for i, wave in enumerate(waves):
            for window in split_windows(wave, WHISPER_SAMPLES):
                owner.append(i)
                windows.append(window)
        inputs = self.feature_extractor(windows, sampling_rate=16000, return_tensors="pt")
        hidden = self.model(
            inputs.input_features.to(self.device), output_hidden_states=True
        ).hidden_states
        stacked = torch.stack(_select(hidden, layers), dim=2).float().cpu()
        pieces: list[list[np.ndarray]] = [[] for _ in waves]
        for j, i in enumerate(owner):
            pieces[i].append(stacked[j, : (windows[j].size // 160 + 1) // 2].numpy())
        return [np.concatenate(p, axis=0) for p in pieces]

    def extract(self, waves: Sequence[np.ndarray], layers: Sequence[int]) -> list[np.ndarray]:
        return self._hidden(waves, layers)

    def cost(self, num_samples: int) -> int:
        if self.model_type == "whisper":
            return num_windows(num_samples, WHISPER_SAMPLES) * WHISPER_SAMPLES
        return num_samples

    def describe(self) -> dict:
        return {"model_dir": str(self.model_dir.resolve()), "model_type": self.model_type}
