"""True-length audio: log-mels and encoder outputs equal Qwen2-Audio's padded 30-s path."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import whisper
from lalm_fixtures import synth_wave
from transformers import (
    Qwen2AudioConfig,
    Qwen2AudioEncoder,
    Qwen2AudioForConditionalGeneration,
    WhisperFeatureExtractor,
)

from emorl.lalm import audio
from emorl.lalm.errors import LalmError

EXTRACTOR = WhisperFeatureExtractor(feature_size=80)
LENGTHS = [16001, 32123, 48000, 479999, 480000]  # odd and even frame counts, and the full window


def tiny_qwen2_audio(seed: int = 0) -> Qwen2AudioForConditionalGeneration:
    torch.manual_seed(seed)
    config = Qwen2AudioConfig(
        audio_config=dict(
            model_type="qwen2_audio_encoder", d_model=64, encoder_layers=2,
            encoder_attention_heads=4, encoder_ffn_dim=128, num_mel_bins=80,
        ),
        text_config=dict(
            model_type="qwen2", hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
            num_key_value_heads=2, intermediate_size=64, vocab_size=100,
        ),
        audio_token_index=99,
    )  # fmt: skip
    return Qwen2AudioForConditionalGeneration(config).eval()


def padded_path_tokens(model, wave: np.ndarray) -> torch.Tensor:
    """Audio tokens of Qwen2-Audio's own forward: 30-s features and its feature attention mask."""
    feats = EXTRACTOR(wave, sampling_rate=16000, return_tensors="pt", return_attention_mask=True)
    n = audio.num_audio_tokens(int(feats.attention_mask.sum()))
    captured = {}
    hook = model.model.multi_modal_projector.register_forward_hook(
        lambda module, args, out: captured.setdefault("tokens", out)
    )
    with torch.no_grad():
        model(
            input_ids=torch.tensor([[1] + [99] * n + [2]]),
            input_features=feats.input_features,
            feature_attention_mask=feats.attention_mask,
        )
    hook.remove()
    return captured["tokens"][0, :n]


def test_token_counts_match_qwen2_audio():
    encoder = Qwen2AudioEncoder.__new__(Qwen2AudioEncoder)  # the length formula needs no weights
    frames = torch.arange(1, 3001)
    conv, tokens = encoder._get_feat_extract_output_lengths(frames)
    assert [audio.num_conv_frames(int(f)) for f in frames] == conv.tolist()
    assert [audio.num_audio_tokens(int(f)) for f in frames] == tokens.tolist()
    assert audio.num_audio_tokens(audio.num_mel_frames(48000)) == 75


@pytest.mark.parametrize("num_samples", LENGTHS)
def test_log_mel_equals_30s_features_on_kept_frames(num_samples):
    wave = synth_wave(num_samples / 16000, seed=num_samples)[:num_samples]
    window = audio.log_mel(EXTRACTOR, wave)
    full = EXTRACTOR(wave, sampling_rate=16000, return_tensors="pt", return_attention_mask=True)
    assert window.frames == int(full.attention_mask.sum())
    kept = window.mel.shape[1]
    assert kept == min(3000, 2 * audio.num_conv_frames(window.frames) + 1)
    torch.testing.assert_close(window.mel, full.input_features[0, :, :kept], rtol=0, atol=1e-6)


def test_feature_extractor_matches_openai_whisper():
    wave = synth_wave(2.0)
    ours = EXTRACTOR(wave, sampling_rate=16000, return_tensors="pt").input_features[0]
    theirs = whisper.log_mel_spectrogram(whisper.pad_or_trim(torch.from_numpy(wave)))
    torch.testing.assert_close(ours, theirs, rtol=0, atol=1e-4)


def test_true_length_encoder_equals_padded_path():
    model = tiny_qwen2_audio()
    waves = [synth_wave(n / 16000, seed=i)[:n] for i, n in enumerate(LENGTHS)]
    windows = [audio.log_mel(EXTRACTOR, w) for w in waves]
    inner = model.model
    with torch.no_grad():
        batched = audio.encode(inner.audio_tower, inner.multi_modal_projector, windows)
    for wave, window, tokens in zip(waves, windows, batched):
        reference = padded_path_tokens(model, wave)
        assert tokens.shape == reference.shape == (window.num_tokens, 32)
        torch.testing.assert_close(tokens, reference, rtol=1e-5, atol=1e-5)


def test_encoder_is_differentiable():
    model = tiny_qwen2_audio()
    inner = model.model
    windows = [audio.log_mel(EXTRACTOR, synth_wave(1.0))]
    audio.encode(inner.audio_tower, inner.multi_modal_projector, windows)[0].sum().backward()
    assert inner.multi_modal_projector.linear.weight.grad.abs().sum() > 0
    assert inner.audio_tower.conv1.weight.grad.abs().sum() > 0


def test_long_audio_options():
    wave = synth_wave(65.0)
    with pytest.raises(LalmError, match=r"utt7: 65\.00 s is longer .* 30 s"):
        audio.clip_windows(EXTRACTOR, wave, "utt7", "error")
    (truncated,) = audio.clip_windows(EXTRACTOR, wave, "utt7", "truncate")
    assert truncated.frames == 3000
    split = audio.clip_windows(EXTRACTOR, wave, "utt7", "split")
    # near-equal windows of at most 30 s: 346667 + 346667 + 346666 samples
    assert [w.frames for w in split] == [2167, 2167, 2167]
    with pytest.raises(ValueError, match="long_audio"):
        audio.clip_windows(EXTRACTOR, wave, "utt7", "drop")
    with pytest.raises(LalmError, match="utt8: expected a non-empty mono waveform"):
        audio.clip_windows(EXTRACTOR, np.zeros(0, np.float32), "utt8")
