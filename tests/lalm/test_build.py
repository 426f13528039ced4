"""Building the mini kind: Whisper weights on Qwen2AudioEncoder, the trained tokenizer."""

from __future__ import annotations

import pytest
import torch
import whisper
from lalm_fixtures import TEXTS, TINY_TEXT, synth_wave

from emorl.lalm import build
from emorl.lalm.errors import LalmError


def test_whisper_weights_give_whisper_hidden_states(tiny_whisper):
    model, _, _ = build.build_mini(
        TEXTS, whisper_checkpoint=tiny_whisper, vocab_size=400, **TINY_TEXT
    )
    tower = model.model.audio_tower.eval()
    reference = whisper.load_model(str(tiny_whisper)).encoder.eval()
    mel = whisper.log_mel_spectrogram(whisper.pad_or_trim(torch.from_numpy(synth_wave(2.0))))
    captured = {}
    tower.layers[-1].register_forward_hook(lambda m, a, out: captured.setdefault("h", out))
    with torch.no_grad():
        theirs = reference(mel[None])  # ln_post(blocks(...)), 1500 frames
        tower(mel[None])
    torch.testing.assert_close(tower.layer_norm(captured["h"]), theirs, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(tower.embed_positions.weight, reference.positional_embedding)
    assert not tower.embed_positions.weight.requires_grad
    assert tower.conv1.weight.requires_grad


def test_mini_config_follows_the_whisper_checkpoint(tiny_whisper):
    model, tokenizer, extractor = build.build_mini(
        TEXTS, whisper_checkpoint=tiny_whisper, vocab_size=400, **TINY_TEXT
    )
    audio_config, text_config = model.config.audio_config, model.config.text_config
    assert (audio_config.d_model, audio_config.encoder_layers, audio_config.num_mel_bins) == (
        64,
        2,
        80,
    )
    assert text_config.model_type == "qwen2" and text_config.hidden_size == 32
    assert text_config.vocab_size == len(tokenizer) == 400
    assert model.config.audio_token_index == tokenizer.convert_tokens_to_ids("<|AUDIO|>")
    assert extractor.feature_size == 80


def test_tokenizer_keeps_special_tokens_whole_and_adds_no_bos():
    tokenizer = build.train_tokenizer(TEXTS, vocab_size=400)
    text = "<|im_start|>user\nAudio 1: <|audio_bos|><|AUDIO|><|audio_eos|>\nangry<|im_end|>"
    ids = tokenizer(text, add_special_tokens=False).input_ids
    specials = ["<|im_start|>", "<|audio_bos|>", "<|AUDIO|>", "<|audio_eos|>", "<|im_end|>"]
    for token in specials:
        assert ids.count(tokenizer.convert_tokens_to_ids(token)) == 1
    assert tokenizer.decode(ids) == text
    assert tokenizer(text).input_ids == ids  # no BOS even when special tokens are added
    assert tokenizer.eos_token == "<|im_end|>" and tokenizer.pad_token == "<|endoftext|>"
    assert tokenizer.decode(tokenizer("Ünïcödé 🙂").input_ids) == "Ünïcödé 🙂"  # byte level
    sentence = "Which emotion does the speaker express?"
    assert len(tokenizer.tokenize(sentence)) < len(sentence) / 3  # learnt merges


def test_tokenizer_needs_text():
    with pytest.raises(LalmError, match="needs some text"):
        build.train_tokenizer(["", "  "])


def test_missing_whisper_checkpoint_says_where_to_put_it(tmp_path):
    with pytest.raises(Exception, match="does not exist"):
        build.build_mini(TEXTS, whisper_checkpoint=tmp_path / "none.pt")
