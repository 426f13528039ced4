"""openai-whisper encoders (``whisper_<size>``), run on the true utterance length.

openai-whisper's ``AudioEncoder.forward`` asserts 3000 mel frames (30 s): a 3 s utterance padded
to 30 s costs ten times the compute. Here, as in ESPnet's and icefall's Whisper encoders, the
positional embedding is sliced to the true length. Unlike them, utterances of a batch are padded to
the longest one *with* a key padding mask (and the convolution input beyond each utterance zeroed),
so that an utterance's features do not depend on what it is batched with. ESPnet's
``WhisperFrontend`` is not used: it loads checkpoints by hub name and has no padding mask.

``pad30=True`` reproduces openai-whisper exactly: each 30 s window is padded with
``whisper.pad_or_trim`` and encoded by the unmodified blocks (equal to ``model.embed_audio``);
only the frames covering the audio are kept, so both modes give the same number of frames.

Utterances longer than 30 s are split into near-equal windows of at most 30 s; their hidden
states are concatenated. Layers: 0 = input of the first block (convolutions + positions),
``i`` = output of block ``i``, the last = ``ln_post`` of the last block (``embed_audio``'s output).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
import whisper
from whisper.audio import HOP_LENGTH, N_SAMPLES

from emorl.safe_load import CheckpointError, load_checkpoint_file
from emorl.upstream.base import (
    Upstream,
    UpstreamError,
    find_checkpoint,
    model_dirs,
    num_windows,
    split_windows,
)

PREFIX = "whisper_"


def sizes() -> list[str]:
    """Model sizes openai-whisper knows (tiny.en, base, large-v3, ...)."""
    return whisper.available_models()


def checkpoint_candidates(size: str) -> list[Path]:
    """Offline model dirs first, then openai-whisper's own download cache."""
    # openai-whisper names its cached file after the download URL (turbo -> large-v3-turbo.pt).
    cache_name = os.path.basename(whisper._MODELS[size])
    cache_root = Path(os.getenv("XDG_CACHE_HOME", Path.home() / ".cache")) / "whisper"
    return [d / "whisper" / f"{size}.pt" for d in model_dirs()] + [cache_root / cache_name]


def _masked_block(
    block: whisper.model.ResidualAttentionBlock, x: torch.Tensor, valid: torch.Tensor
) -> torch.Tensor:
    """``block(x)`` with padded frames (``valid`` False, [B, T]) hidden from attention."""
    attn = block.attn
    h = block.attn_ln(x)
    batch, frames, state = h.shape

    def heads(t: torch.Tensor) -> torch.Tensor:
        return t.view(batch, frames, attn.n_head, -1).transpose(1, 2)

    a = F.scaled_dot_product_attention(
        heads(attn.query(h)),
        heads(attn.key(h)),
        heads(attn.value(h)),
        attn_mask=valid[:, None, None, :],
    )
    x = x + attn.out(a.transpose(1, 2).reshape(batch, frames, state))
    return x + block.mlp(block.mlp_ln(x))


class WhisperUpstream(Upstream):
    """``whisper_<size>``: all encoder layers of an openai-whisper checkpoint, 50 frames/s."""

    frame_rate = 50.0

    def __init__(self, name: str, path=None, pad30: bool = False, device: str = "cpu"):
        size = name[len(PREFIX) :]
        if size not in sizes():
            raise UpstreamError(
                f"{name}: unknown Whisper size {size!r}; sizes: {', '.join(sizes())}"
            )
        self.checkpoint = find_checkpoint(
            name,
            path,
            checkpoint_candidates(size),
            hint="tools/prepare_whisper.py writes tiny.en and base offline; for other sizes, copy "
            f"openai-whisper's {os.path.basename(whisper._MODELS[size])} from a machine with it.",
        )
        # As whisper.load_model(path), with an error that names a file that is not a checkpoint.
        try:
            checkpoint = load_checkpoint_file(self.checkpoint, "Whisper checkpoint")
        except CheckpointError as e:
            raise UpstreamError(f"{name}: {e}") from None
        if not isinstance(checkpoint, dict) or not {"dims", "model_state_dict"} <= set(checkpoint):
            raise UpstreamError(
                f"{name}: {self.checkpoint} is not an openai-whisper checkpoint "
                "(no 'dims' and 'model_state_dict')"
            )
        model = whisper.model.Whisper(whisper.model.ModelDimensions(**checkpoint["dims"]))
        model.load_state_dict(checkpoint["model_state_dict"])
        model.to(device)
        self.name = name
        self.pad30 = pad30
        self.device = torch.device(device)
        self.dims = model.dims
        self.encoder = model.encoder.eval().requires_grad_(False)  # the decoder is dropped
        self.dim = model.dims.n_audio_state
        self.num_layers = model.dims.n_audio_layer + 1

    def cost(self, num_samples: int) -> int:
        if self.pad30:
            return num_windows(num_samples, N_SAMPLES) * N_SAMPLES
        return num_samples

    def describe(self) -> dict:
        return {"checkpoint": str(self.checkpoint), "pad30": self.pad30, "dims": asdict(self.dims)}

    def _mel(self, wave: np.ndarray) -> torch.Tensor:
        audio = torch.from_numpy(wave).to(self.device)
        if self.pad30:
            audio = whisper.pad_or_trim(audio)
        return whisper.log_mel_spectrogram(audio, self.dims.n_mels)

    @torch.inference_mode()
    def encode(self, mels: Sequence[torch.Tensor], layers: Sequence[int]) -> torch.Tensor:
        """Hidden states ``[B, T, len(layers), D]`` of log-mels ``[n_mels, M_i]`` (zero-padded)."""
        enc = self.encoder
        lengths = torch.tensor([m.shape[-1] for m in mels], device=self.device)
        x = torch.nn.utils.rnn.pad_sequence([m.T for m in mels], batch_first=True).transpose(1, 2)
        padded = bool((lengths != lengths.max()).any())
        x = F.gelu(enc.conv1(x))
        if padded:  # conv2 must see zeros beyond each utterance, as it does when run alone
            x = x * (torch.arange(x.shape[-1], device=self.device) < lengths[:, None])[:, None, :]
        x = F.gelu(enc.conv2(x)).permute(0, 2, 1)
        x = (x + enc.positional_embedding[: x.shape[1]]).to(x.dtype)
        valid = torch.arange(x.shape[1], device=self.device) < ((lengths + 1) // 2)[:, None]
        wanted, states = set(layers), []
        if 0 in wanted:
            states.append(x)
        for i, block in enumerate(enc.blocks, start=1):
            if i > max(layers):
                break
            x = _masked_block(block, x, valid) if padded else block(x)
            if i == len(enc.blocks):
                x = enc.ln_post(x)
            if i in wanted:
                states.append(x)
        return torch.stack(states, dim=2)

    def extract(self, waves: Sequence[np.ndarray], layers: Sequence[int]) -> list[np.ndarray]:
        owner, mels, frames = [], [], []
        for i, wave in enumerate(waves):
            for window in split_windows(wave, N_SAMPLES):
                owner.append(i)
                mels.append(self._mel(window))
                frames.append((window.size // HOP_LENGTH + 1) // 2)  # ceil(mel frames / 2)
        hidden = self.encode(mels, layers).float().cpu().numpy()
        pieces: list[list[np.ndarray]] = [[] for _ in waves]
        for j, i in enumerate(owner):
            pieces[i].append(hidden[j, : frames[j]])
        return [np.concatenate(p, axis=0) for p in pieces]
