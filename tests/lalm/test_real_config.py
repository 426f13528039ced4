"""The real-model configuration (Qwen2-Audio-7B-Instruct with LoRA, several GPUs) built without
weights: the model on the meta device through AudioLM and the SFT code path, and the DeepSpeed
ZeRO-3 file filled from the real recipes' options (tests/lalm/test_sft_zero3.py runs it)."""

from __future__ import annotations

import json
from pathlib import Path

import torch
import yaml
from accelerate.utils.deepspeed import HfDeepSpeedConfig
from tokenizers import Tokenizer
from tokenizers.models import WordLevel
from transformers import (
    PreTrainedTokenizerFast,
    Qwen2AudioConfig,
    Qwen2AudioForConditionalGeneration,
    WhisperFeatureExtractor,
)

from emorl.lalm.model import AudioLM
from emorl.lalm.sft import SftConfig, set_trainable
from emorl.train.zero import zero_config

ROOT = Path(__file__).resolve().parents[2]
DS_CONFIG = ROOT / "egs" / "TEMPLATE" / "lalm1" / "conf" / "ds_zero3.json"
REAL_SFT = [
    ROOT / "egs" / "emotiontalk" / "cap1" / "conf" / "lalm" / "sft_real.yaml",
    ROOT / "egs" / "mer2023" / "ov1" / "conf" / "lalm" / "sft_real.yaml",
]
# Qwen2-Audio-7B(-Instruct)'s config.json where it differs from transformers' defaults: the audio
# encoder defaults (d_model 1280, 32 layers, 20 heads, ffn 5120, 128 mel bins, 1500 positions) and
# the text model's hidden size 4096, 32 layers, 32 heads and 32 KV heads are the 7B's, but the
# text defaults are Qwen2-7B's vocabulary (151936) and MLP (22016), not Qwen2-Audio's.
TEXT_7B = dict(
    model_type="qwen2",
    vocab_size=156032,
    intermediate_size=11008,
    max_position_embeddings=8192,
    rope_theta=10000.0,
    rms_norm_eps=1e-5,
    bos_token_id=151643,
    eos_token_id=151645,
)
# The special tokens AudioLM looks up, at the 7B tokenizer's ids (its files are not here: a
# word-level stand-in holds just these).
SPECIAL_IDS = {"<|endoftext|>": 151643, "<|im_start|>": 151644, "<|im_end|>": 151645}
SPECIAL_IDS |= {"<|AUDIO|>": 151646, "<|audio_bos|>": 151647, "<|audio_eos|>": 151648}


def real_7b_on_meta() -> AudioLM:
    config = Qwen2AudioConfig(text_config=TEXT_7B, audio_token_index=151646)
    with torch.device("meta"):
        model = Qwen2AudioForConditionalGeneration(config).to(torch.bfloat16)
    vocab = {"<unk>": 0, **SPECIAL_IDS}
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=Tokenizer(WordLevel(vocab, unk_token="<unk>")),
        pad_token="<|endoftext|>",
        eos_token="<|im_end|>",
    )
    return AudioLM(model, tokenizer, WhisperFeatureExtractor(feature_size=128), "real")


def test_the_7b_sizes_and_its_lora_trainable_parameters():
    lm = real_7b_on_meta()
    text, audio = lm.model.config.text_config, lm.model.config.audio_config
    assert (text.hidden_size, text.num_hidden_layers, text.num_attention_heads) == (4096, 32, 32)
    assert (text.num_key_value_heads, text.vocab_size, text.intermediate_size) == (
        32,
        156032,
        11008,
    )
    assert (audio.d_model, audio.encoder_layers, audio.num_mel_bins) == (1280, 32, 128)
    assert lm.model.lm_head.weight.shape == (156032, 4096)
    assert lm.model.dtype == torch.bfloat16 and lm.model.device.type == "meta"
    assert lm.num_parameters() == 8_397_094_912  # 8.4 B: 16.8 GB of weights in bfloat16
    assert lm.eos_id == 151645 and lm.pad_id == 151643

    # The real recipes' SFT options, through the SFT code path (set_trainable -> enable_lora).
    options = yaml.safe_load(REAL_SFT[0].read_text())
    config = SftConfig(model="real", model_path="/models/Qwen2-Audio-7B-Instruct", **options)
    params = set_trainable(lm, config)
    # LoRA r 8 on q, k, v, o (all 4096 -> 4096 here: 32 KV heads of 128): 2 * 8 * 4096 weights
    # each, in 32 layers; the projector (1280 -> 4096 with bias) trains in full.
    lora = 32 * 4 * 2 * 8 * 4096
    projector = 1280 * 4096 + 4096
    assert sum(p.numel() for p in params) == lora + projector == 13_635_584
    names = [n for n, p in lm.peft.named_parameters() if p.requires_grad]
    assert all("lora_" in n or "multi_modal_projector" in n for n in names)
    assert not any("audio_tower" in n for n in names)


def test_the_grpo_default_lora_on_the_7b():
    lm = real_7b_on_meta()
    lm.enable_lora()  # what grpo_run does by default: r 8 on q and v, projector trained
    lm.freeze_audio_tower()
    assert lm.num_parameters(trainable_only=True) == 32 * 2 * 2 * 8 * 4096 + 1280 * 4096 + 4096


def test_the_zero3_file_fills_from_the_real_options():
    """The file leaves precision, clipping, batch sizes and bucket sizes to the trainer ("auto"):
    filled from each real SFT config for 8 processes of the 7B, it is ZeRO-3 in bfloat16 without
    offload, with the recipe's clipping, as transformers' integration reads it."""
    raw = json.loads(DS_CONFIG.read_text())
    assert raw["bf16"]["enabled"] == raw["gradient_clipping"] == "auto"
    for path in REAL_SFT:
        options = yaml.safe_load(path.read_text())
        ds = zero_config(
            DS_CONFIG,
            micro_batch_per_process=1,
            grad_accum=options["grad_accum"],
            world_size=8,
            max_grad_norm=options["max_grad_norm"],
            bf16=options["dtype"] == "bfloat16",
            hidden_size=4096,
        )
        hf = HfDeepSpeedConfig(ds)
        assert hf.is_zero3() and not hf.is_offload(), path
        assert hf.get_value("bf16.enabled") is True and hf.get_value("fp16.enabled") is None
        assert ds["gradient_clipping"] == options["max_grad_norm"] == 1.0, path
        assert ds["train_batch_size"] == 8 * options["grad_accum"], path
        assert ds["zero_optimization"]["reduce_bucket_size"] == 4096 * 4096
        # a whole adapter is saved from the gathered weights
        assert ds["zero_optimization"]["stage3_gather_16bit_weights_on_model_save"] is True
