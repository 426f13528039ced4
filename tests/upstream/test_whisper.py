"""Whisper upstream: exact 30-s mode, true-length mode, masking, layers, windows, checkpoints."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import whisper
from espnet2.asr.frontend.whisper import WhisperFrontend
from upstream_fixtures import save_tiny_whisper, synth_wave

from emorl.upstream import UpstreamError, get_upstream
from emorl.upstream.whisper import WhisperUpstream


def frames_of(num_samples: int) -> int:
    return (num_samples // 160 + 1) // 2


def hooked_layers(encoder, run) -> list[torch.Tensor]:
    """Every layer as forward hooks on openai-whisper's modules see it while ``run()`` runs."""
    seen = {}
    handles = [
        encoder.blocks[0].register_forward_pre_hook(lambda m, args: seen.setdefault(0, args[0]))
    ]
    for i, block in enumerate(encoder.blocks[:-1], start=1):
        handles.append(block.register_forward_hook(lambda m, a, out, i=i: seen.setdefault(i, out)))
    handles.append(
        encoder.ln_post.register_forward_hook(
            lambda m, a, out: seen.setdefault(len(encoder.blocks), out)
        )
    )
    try:
        run()
    finally:
        for h in handles:
            h.remove()
    return [seen[i] for i in range(len(encoder.blocks) + 1)]


def test_pad30_equals_openai_embed_audio(tiny_whisper, waves):
    model = whisper.load_model(str(tiny_whisper), device="cpu")
    upstream = WhisperUpstream("whisper_tiny.en", path=tiny_whisper, pad30=True)
    feats = upstream.extract(waves, layers=[upstream.num_layers - 1])
    for wave, got in zip(waves, feats):
        mel = whisper.log_mel_spectrogram(whisper.pad_or_trim(torch.from_numpy(wave)))
        with torch.no_grad():
            ref = model.embed_audio(mel[None])[0].numpy()
        assert got.shape == (frames_of(wave.size), 1, 64)
        np.testing.assert_allclose(got[:, 0], ref[: got.shape[0]], rtol=0, atol=1e-5)


def test_each_layer_equals_the_hook_output_of_that_layer(tiny_whisper, waves):
    model = whisper.load_model(str(tiny_whisper), device="cpu")
    upstream = WhisperUpstream("whisper_tiny.en", path=tiny_whisper, pad30=True)
    assert upstream.num_layers == 3  # input of block 1, output of block 1, ln_post(block 2)
    mel = whisper.log_mel_spectrogram(whisper.pad_or_trim(torch.from_numpy(waves[0])))
    with torch.no_grad():
        hooks = hooked_layers(model.encoder, lambda: model.embed_audio(mel[None]))
    frames = frames_of(waves[0].size)
    every = upstream.extract(waves[:1], layers=[0, 1, 2])[0]
    for layer in range(3):
        ref = hooks[layer][0, :frames].numpy()
        chosen = upstream.extract(waves[:1], layers=[layer])[0]
        np.testing.assert_allclose(chosen[:, 0], ref, rtol=0, atol=1e-5)
        np.testing.assert_array_equal(every[:, layer], chosen[:, 0])


def test_true_length_equals_espnet_sliced_encoder(tiny_whisper, waves):
    """Variable length = ESPnet's WhisperFrontend.whisper_encode (positions sliced), every layer."""
    model = whisper.load_model(str(tiny_whisper), device="cpu")
    frontend = WhisperFrontend.__new__(WhisperFrontend)  # its __init__ loads by hub name
    torch.nn.Module.__init__(frontend)
    frontend.whisper = model
    upstream = WhisperUpstream("whisper_tiny.en", path=tiny_whisper)
    mel = whisper.log_mel_spectrogram(torch.from_numpy(waves[2]))
    with torch.no_grad():
        hooks = hooked_layers(model.encoder, lambda: frontend.whisper_encode(mel[None]))
    got = upstream.extract(waves[2:3], layers=[0, 1, 2])[0]
    assert got.shape == (frames_of(waves[2].size), 3, 64) == (hooks[0].shape[1], 3, 64)
    for layer in range(3):
        np.testing.assert_allclose(got[:, layer], hooks[layer][0].numpy(), rtol=0, atol=1e-5)


def test_batched_utterances_equal_utterances_alone(tiny_whisper, waves):
    """The padding mask: an utterance's features do not depend on its batch."""
    upstream = WhisperUpstream("whisper_tiny.en", path=tiny_whisper)
    batched = upstream.extract(waves, layers=[0, 1, 2])
    for wave, got in zip(waves, batched):
        alone = upstream.extract([wave], layers=[0, 1, 2])[0]
        assert got.shape == alone.shape == (frames_of(wave.size), 3, 64)
        np.testing.assert_allclose(got, alone, rtol=0, atol=1e-5)


def test_modes_give_the_same_frames_but_different_values(tiny_whisper, waves):
    short = WhisperUpstream("whisper_tiny.en", path=tiny_whisper).extract(waves[:1], [2])[0]
    padded = WhisperUpstream("whisper_tiny.en", path=tiny_whisper, pad30=True).extract(
        waves[:1], [2]
    )[0]
    assert short.shape == padded.shape
    assert np.abs(short - padded).max() > 1e-2  # attention over 28 s of padding changes the states


def test_deterministic(tiny_whisper, waves):
    upstream = WhisperUpstream("whisper_tiny.en", path=tiny_whisper)
    first, second = upstream.extract(waves, [1]), upstream.extract(waves, [1])
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("pad30", [False, True])
def test_longer_than_30s_is_windowed_and_concatenated(tiny_whisper, pad30):
    upstream = WhisperUpstream("whisper_tiny.en", path=tiny_whisper, pad30=pad30)
    wave = synth_wave(31.0)
    got = upstream.extract([wave], layers=[2])[0]
    halves = [wave[: wave.size // 2], wave[wave.size // 2 :]]  # two equal windows of 15.5 s
    expected = np.concatenate(upstream.extract(halves, layers=[2]))
    assert got.shape == (2 * frames_of(wave.size // 2), 1, 64)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5)
    assert upstream.cost(wave.size) == (2 * 480000 if pad30 else wave.size)


def test_checkpoint_from_model_dir_env_and_whisper_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("EMORL_MODEL_DIR", str(tmp_path / "models"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    in_models = save_tiny_whisper(tmp_path / "models" / "whisper" / "medium.en.pt")
    assert get_upstream("whisper_medium.en").checkpoint == in_models
    # openai-whisper's cache names the file after its URL: turbo -> large-v3-turbo.pt
    in_cache = save_tiny_whisper(
        tmp_path / "cache" / "whisper" / "large-v3-turbo.pt", n_audio_layer=1
    )
    upstream = get_upstream("whisper_turbo")
    assert upstream.checkpoint == in_cache and upstream.num_layers == 2


def test_missing_checkpoint_names_the_file_and_the_places(tmp_path, monkeypatch):
    monkeypatch.setenv("EMORL_MODEL_DIR", str(tmp_path / "models"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    with pytest.raises(UpstreamError) as err:
        get_upstream("whisper_small.en")
    message = str(err.value)
    assert "--upstream_path" in message
    assert str(tmp_path / "models" / "whisper" / "small.en.pt") in message
    assert "tools/models/whisper/small.en.pt" in message
    assert str(tmp_path / "cache" / "whisper" / "small.en.pt") in message
    with pytest.raises(UpstreamError, match="does not exist"):
        get_upstream("whisper_base", path=str(tmp_path / "nothing.pt"))
