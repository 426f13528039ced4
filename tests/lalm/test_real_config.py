"""The real-model configuration (Qwen2-Audio-7B-Instruct with LoRA, several GPUs) built without
weights: the model on the meta device through AudioLM and the SFT code path, and the DeepSpeed
ZeRO-3 file checked against the real recipes' options (deepspeed itself is not installed here)."""

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
from emorl.rl.grpo_trainer import GRPOConfig

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


def test_the_zero3_file_parses_and_agrees_with_the_real_options():
    """DeepSpeed is not installed in tools/venv: the file is read by accelerate's
    HfDeepSpeedConfig (what transformers' integration wraps), and its keys are checked here."""
    raw = json.loads(DS_CONFIG.read_text())
    ds = HfDeepSpeedConfig(raw)
    assert ds.is_zero3() and not ds.is_offload()
    assert ds.get_value("bf16.enabled") is True and ds.get_value("fp16.enabled") is None
    known = {
        "bf16", "zero_optimization", "gradient_clipping", "gradient_accumulation_steps",
        "train_micro_batch_size_per_gpu", "train_batch_size", "steps_per_print",
        "wall_clock_breakdown",
    }  # fmt: skip
    assert set(raw) <= known
    zero = raw["zero_optimization"]
    assert zero["offload_optimizer"]["device"] == zero["offload_param"]["device"] == "none"
    assert zero["stage3_gather_16bit_weights_on_model_save"] is True  # a whole adapter is saved
    for path in REAL_SFT:  # gradient clipping and precision match our real-model options
        options = yaml.safe_load(path.read_text())
        assert options["max_grad_norm"] == raw["gradient_clipping"], path
        assert options["dtype"] == "bfloat16", path
    assert GRPOConfig().max_grad_norm == raw["gradient_clipping"]
    # batch sizes "auto": filled in from the run's options by the launcher, never a second copy
    assert raw["train_micro_batch_size_per_gpu"] == raw["gradient_accumulation_steps"] == "auto"
