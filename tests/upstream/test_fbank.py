"""fbank: Kaldi-compatible filterbanks from torchaudio, with optional utterance CMVN."""

from __future__ import annotations

import numpy as np
import torch
import torchaudio

from emorl.upstream import get_upstream


def test_fbank_is_torchaudio_kaldi_fbank_on_16bit_scale(waves):
    upstream = get_upstream("fbank")
    assert (upstream.num_layers, upstream.dim, upstream.frame_rate) == (1, 80, 100.0)
    feats = upstream.extract(waves, [0])
    for wave, got in zip(waves, feats):
        ref = torchaudio.compliance.kaldi.fbank(
            torch.from_numpy(wave)[None] * 32768, num_mel_bins=80, dither=0.0
        ).numpy()
        assert got.shape == (1 + (wave.size - 400) // 160, 1, 80)  # Kaldi's snip_edges frames
        np.testing.assert_allclose(got[:, 0], ref, rtol=1e-5, atol=1e-4)


def test_utterance_cmvn_and_mel_bins(waves):
    feats = get_upstream("fbank", fbank_cmvn=True, fbank_num_mel_bins=40).extract(waves[:1], [0])[0]
    assert feats.shape[-1] == 40
    np.testing.assert_allclose(feats[:, 0].mean(0), 0, atol=1e-4)
    np.testing.assert_allclose(feats[:, 0].std(0), 1, atol=1e-3)
