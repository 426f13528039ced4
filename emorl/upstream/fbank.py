"""Kaldi-compatible log mel filterbanks (torchaudio.compliance.kaldi), 100 frames per second.

ESPnet's DefaultFrontend computes a log-mel spectrogram from an STFT, not Kaldi's fbank (povey
window, pre-emphasis, snip_edges), so torchaudio's Kaldi re-implementation is used instead.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torchaudio

from emorl.upstream.base import Upstream, UpstreamError


class FbankUpstream(Upstream):
    """``fbank``: one layer of ``num_mel_bins`` log mel energies, optional utterance CMVN."""

    frame_rate = 100.0
    num_layers = 1

    def __init__(self, name: str = "fbank", path=None, num_mel_bins: int = 80, cmvn: bool = False):
        if path is not None:
            raise UpstreamError("fbank takes no --upstream_path")
        self.name = name
        self.dim = num_mel_bins
        self.cmvn = cmvn

    def extract(self, waves: Sequence[np.ndarray], layers: Sequence[int]) -> list[np.ndarray]:
        out = []
        for wave in waves:
            # Kaldi computes on 16-bit sample values; dither 0 keeps features deterministic.
            feats = torchaudio.compliance.kaldi.fbank(
                torch.from_numpy(wave * 32768.0)[None],
                num_mel_bins=self.dim,
                sample_frequency=16000.0,
                dither=0.0,
            ).numpy()
            if self.cmvn:
                feats = (feats - feats.mean(0)) / np.maximum(feats.std(0), 1e-5)
            out.append(feats[:, None, :].astype(np.float32))
        return out

    def describe(self) -> dict:
        return {"num_mel_bins": self.dim, "cmvn": self.cmvn}
