"""hf:<dir>: transformers encoders saved locally, all hidden states."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from transformers import AutoFeatureExtractor, AutoModel
from upstream_fixtures import save_tiny_hf_wavlm, save_tiny_hf_whisper

from emorl.upstream import UpstreamError, get_upstream


def reference_hidden(model_dir, wave):
    """What transformers gives for one waveform, used directly."""
    extractor = AutoFeatureExtractor.from_pretrained(model_dir)
    model = AutoModel.from_pretrained(model_dir).eval()
    inputs = extractor([wave], sampling_rate=16000, return_tensors="pt")
    with torch.no_grad():
        return torch.stack(model(**inputs, output_hidden_states=True).hidden_states, 2)[0].numpy()


@pytest.mark.parametrize("group_norm", [False, True])
def test_wavlm_dir_gives_all_hidden_states(tmp_path, waves, group_norm):
    model_dir = save_tiny_hf_wavlm(tmp_path / "wavlm", group_norm=group_norm)
    upstream = get_upstream(f"hf:{model_dir}")
    assert (upstream.num_layers, upstream.dim, upstream.frame_rate) == (3, 32, 50.0)
    assert not any(p.requires_grad for p in upstream.model.parameters())
    feats = upstream.extract(waves, layers=[0, 1, 2])
    for wave, got in zip(waves, feats):
        ref = reference_hidden(model_dir, wave)
        assert got.shape == ref.shape == ((wave.size - 400) // 320 + 1, 3, 32)
        np.testing.assert_allclose(got, ref, rtol=0, atol=1e-4)  # batched = alone


def test_whisper_dir_keeps_the_frames_of_the_audio(tmp_path, waves):
    model_dir = save_tiny_hf_whisper(tmp_path / "whisper")
    upstream = get_upstream("hf:whatever", path=str(model_dir))  # --upstream_path wins
    assert (upstream.num_layers, upstream.dim, upstream.frame_rate) == (3, 32, 50.0)
    assert not upstream.model.embed_positions.weight.requires_grad
    feats = upstream.extract(waves, layers=[2])
    extractor = AutoFeatureExtractor.from_pretrained(model_dir)
    encoder = AutoModel.from_pretrained(model_dir).get_encoder().eval()
    for wave, got in zip(waves, feats):
        mel = extractor([wave], sampling_rate=16000, return_tensors="pt").input_features
        with torch.no_grad():
            ref = encoder(mel).last_hidden_state[0].numpy()
        frames = (wave.size // 160 + 1) // 2
        assert got.shape == (frames, 1, 32)
        np.testing.assert_allclose(got[:, 0], ref[:frames], rtol=0, atol=1e-4)
    assert upstream.cost(16000) == 480000


def test_dir_without_feature_extractor_or_config(tmp_path):
    model_dir = save_tiny_hf_wavlm(tmp_path / "wavlm")
    (model_dir / "preprocessor_config.json").unlink()
    with pytest.raises(UpstreamError, match="preprocessor_config.json not found"):
        get_upstream(f"hf:{model_dir}")
    with pytest.raises(UpstreamError, match="config.json not found"):
        get_upstream(f"hf:{tmp_path / 'nothing'}")
