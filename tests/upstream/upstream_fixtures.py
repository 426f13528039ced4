"""Helpers of the upstream tests: synthetic speech-like waveforms, data dirs, and tiny randomly
initialised models saved the way users' checkpoints are (nothing is downloaded)."""

from __future__ import annotations

from pathlib import Path

import soundfile
import torch
from audio_fixtures import save_tiny_whisper, synth_wave  # noqa: F401  (re-exported)

from emorl.data.datadir import DataDir


def write_data_dir(root: Path, durations: dict[str, float], sr: int = 16000) -> DataDir:
    """A data dir at ``root/data`` whose utterances are synth waves of the given durations."""
    (root / "wav").mkdir(parents=True, exist_ok=True)
    wav_scp = {}
    for i, (utt, seconds) in enumerate(sorted(durations.items())):
        path = root / "wav" / f"{utt}.wav"
        soundfile.write(path, synth_wave(seconds, seed=i, sr=sr), sr, subtype="PCM_16")
        wav_scp[utt] = str(path)
    data = DataDir(wav_scp=wav_scp, utt2spk={u: "spk" + u[-1] for u in wav_scp})
    data.write(root / "data")
    return DataDir.load(root / "data")


def save_tiny_s3prl_wavlm(path: Path, seed: int = 0) -> Path:
    """A randomly initialised 2-layer WavLM in the checkpoint format s3prl's wavlm_local reads
    (Microsoft's: ``{"cfg": ..., "model": state_dict}``)."""
    from s3prl.upstream.wavlm.WavLM import WavLM, WavLMConfig

    cfg = dict(
        encoder_layers=2, encoder_embed_dim=32, encoder_ffn_embed_dim=64, encoder_attention_heads=2,
        conv_feature_layers="[(32,10,5)] + [(32,3,2)] * 4 + [(32,2,2)] * 2",
        conv_pos=16, conv_pos_groups=4, num_buckets=16, max_distance=64,
    )  # fmt: skip
    torch.manual_seed(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"cfg": cfg, "model": WavLM(WavLMConfig(cfg)).state_dict()}, path)
    return path


def save_tiny_hf_wavlm(model_dir: Path, group_norm: bool = False, seed: int = 0) -> Path:
    """A randomly initialised 2-layer transformers WavLM and its feature extractor, as
    ``save_pretrained`` writes them. ``group_norm``: the base models' CNN, used without a mask."""
    from transformers import Wav2Vec2FeatureExtractor, WavLMConfig, WavLMModel

    config = WavLMConfig(
        hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
        conv_dim=(32,) * 7, num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=4,
        num_buckets=16, max_bucket_distance=64,
        feat_extract_norm="group" if group_norm else "layer", do_stable_layer_norm=not group_norm,
    )  # fmt: skip
    torch.manual_seed(seed)
    WavLMModel(config).save_pretrained(model_dir)
    Wav2Vec2FeatureExtractor(
        do_normalize=not group_norm, return_attention_mask=not group_norm
    ).save_pretrained(model_dir)
    return model_dir


def save_tiny_hf_whisper(model_dir: Path, seed: int = 0) -> Path:
    """A randomly initialised 2-layer transformers Whisper and its feature extractor."""
    from transformers import WhisperConfig, WhisperFeatureExtractor, WhisperModel

    config = WhisperConfig(
        d_model=32, encoder_layers=2, encoder_attention_heads=2, encoder_ffn_dim=64,
        decoder_layers=1, decoder_attention_heads=2, decoder_ffn_dim=64, vocab_size=64,
        pad_token_id=0, bos_token_id=1, eos_token_id=2, decoder_start_token_id=3,
        num_mel_bins=80, max_source_positions=1500, max_target_positions=8,
    )  # fmt: skip
    torch.manual_seed(seed)
    WhisperModel(config).save_pretrained(model_dir)
    WhisperFeatureExtractor(feature_size=80).save_pretrained(model_dir)
    return model_dir


# The tiny s3prl fairseq-family models: real models' conv strides (320 samples a frame) with 32
# channels, two 32-dim transformer layers. "large" is the large checkpoints' architecture
# (layer-norm CNN, pre-norm transformer, normalised input); base is group norm, post-norm.
_TINY_FAIRSEQ = dict(
    encoder_layers=2, encoder_embed_dim=32, encoder_ffn_embed_dim=64, encoder_attention_heads=2,
    conv_feature_layers="[(32,10,5)] + [(32,3,2)] * 4 + [(32,2,2)] * 2", conv_pos=16,
    conv_pos_groups=4,
)  # fmt: skip


def _fairseq_cfgs(large: bool) -> tuple[dict, dict]:
    task_cfg = {"_name": "audio_pretraining", "sample_rate": 16000, "normalize": large}
    model_cfg = dict(
        _TINY_FAIRSEQ,
        extractor_mode="layer_norm" if large else "default",
        layer_norm_first=large,
    )
    return task_cfg, model_cfg


def save_tiny_s3prl_hubert(path: Path, large: bool = False, seed: int = 0) -> Path:
    """A randomly initialised 2-layer HuBERT in the format s3prl's hubert_local reads (its
    converted fairseq checkpoints: task_cfg, model_cfg, model_weight, dictionaries_symbols)."""
    from s3prl.upstream.hubert.hubert_model import (
        HubertConfig,
        HubertModel,
        HubertPretrainingConfig,
    )

    task_cfg, model_cfg = _fairseq_cfgs(large)
    task_cfg["label_rate"] = model_cfg["label_rate"] = 50
    model_cfg["final_dim"] = 16
    symbols = [["<s>", "<pad>", "</s>", "<unk>"] + [str(i) for i in range(8)]]
    torch.manual_seed(seed)
    model = HubertModel(HubertConfig(**model_cfg), HubertPretrainingConfig(label_rate=50), symbols)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {"task_cfg": task_cfg, "model_cfg": model_cfg, "model_weight": model.state_dict()}
    torch.save(dict(state, dictionaries_symbols=symbols), path)
    return path


def save_tiny_s3prl_wav2vec2(path: Path, large: bool = False, seed: int = 0) -> Path:
    """A randomly initialised 2-layer wav2vec 2.0 (with its quantizer) in the format s3prl's
    wav2vec2_local reads (its converted fairseq checkpoints: task_cfg, model_cfg, model_weight)."""
    from s3prl.upstream.wav2vec2.wav2vec2_model import Wav2Vec2Config, Wav2Vec2Model

    task_cfg, model_cfg = _fairseq_cfgs(large)
    model_cfg.update(quantize_targets=True, final_dim=16, latent_vars=8, latent_groups=2)
    torch.manual_seed(seed)
    model = Wav2Vec2Model(Wav2Vec2Config(**model_cfg))
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(
        {"task_cfg": task_cfg, "model_cfg": model_cfg, "model_weight": model.state_dict()}, path
    )
    return path


def save_tiny_s3prl_data2vec(path: Path, large: bool = False, seed: int = 0) -> Path:
    """A randomly initialised 2-layer data2vec (audio) in the format s3prl's data2vec_local reads:
    as wav2vec 2.0's, the weights without the pretraining head, plus the EMA teacher's ("_ema")."""
    from s3prl.upstream.data2vec.data2vec_model import Data2VecAudioConfig, Data2VecAudioModel

    task_cfg, model_cfg = _fairseq_cfgs(large)
    task_cfg["normalize"] = True  # data2vec base is trained on normalised input too
    model_cfg.update(extractor_mode="layer_norm", pos_conv_depth=2, average_top_k_layers=2)
    torch.manual_seed(seed)
    model = Data2VecAudioModel(Data2VecAudioConfig(**model_cfg))
    model.remove_pretraining_modules()
    weights = model.state_dict()
    weights["_ema"] = {k: v.clone() for k, v in model.encoder.state_dict().items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"task_cfg": task_cfg, "model_cfg": model_cfg, "model_weight": weights}, path)
    return path
