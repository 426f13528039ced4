"""Log-mel features and Qwen2-Audio's audio encoder at the true clip length.

Qwen2-Audio's ``Qwen2AudioEncoder.forward`` insists on 3000 mel frames (30 s): a 3 s clip padded to
30 s costs ten times the compute, and ``Qwen2AudioForConditionalGeneration`` hides the padded frames
from attention with a key mask. :func:`encode` runs the same modules (conv1/conv2, the positional
table sliced to the true length, the layers with a key mask, the average pool, the layer norm and
the projector) on only the frames a clip needs, so its audio tokens equal those of the padded path.

Exactness needs the convolutions to see at the clip's end what the padded path shows them: the
last valid output frame reads two mel frames beyond the clip, which in the padded path are the
log-mel of the zeros that follow it. :func:`log_mel` therefore pads each clip with a few hops of
zeros (not 30 s of them) before WhisperFeatureExtractor, and keeps exactly the frames the encoder
reads. The log-mel floor (maximum - 8) is unchanged, since frames of zeros never hold the maximum.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from transformers import WhisperFeatureExtractor
from transformers.masking_utils import create_bidirectional_mask

from emorl.lalm.errors import LalmError
from emorl.upstream.base import split_windows

SAMPLE_RATE = 16000
HOP_LENGTH = 160
WINDOW_SAMPLES = 30 * SAMPLE_RATE  # the encoder's window
WINDOW_FRAMES = WINDOW_SAMPLES // HOP_LENGTH
LONG_AUDIO = ("split", "truncate", "error")


@dataclass
class AudioWindow:
    """The log-mel of one encoder window: ``mel`` [n_mels, F] and its ``frames`` valid frames."""

    mel: torch.Tensor
    frames: int

    @property
    def num_tokens(self) -> int:
        return num_audio_tokens(self.frames)


def num_mel_frames(num_samples: int) -> int:
    """Valid mel frames of a clip (those WhisperFeatureExtractor's attention mask marks)."""
    return -(-num_samples // HOP_LENGTH)


def num_conv_frames(frames: int) -> int:
    """Encoder frames after conv2 (stride 2) of ``frames`` mel frames."""
    return (frames - 1) // 2 + 1


def num_audio_tokens(frames: int) -> int:
    """Audio tokens (after the average pool) of ``frames`` mel frames, as Qwen2-Audio counts."""
    return (num_conv_frames(frames) - 2) // 2 + 1


def log_mel(extractor: WhisperFeatureExtractor, wave: np.ndarray) -> AudioWindow:
    """Log-mel of one clip of at most 30 s, holding every frame the true-length encoder reads."""
    if wave.size > WINDOW_SAMPLES:
        raise ValueError(f"log_mel takes at most {WINDOW_SAMPLES} samples, got {wave.size}")
    frames = num_mel_frames(wave.size)
    needed = min(WINDOW_FRAMES, 2 * num_conv_frames(frames) + 1)  # conv2's receptive field
    # Frame t reads samples up to t * hop + n_fft / 2: three hops of zeros cover the last one.
    padded = min(WINDOW_SAMPLES, (needed + 3) * HOP_LENGTH)
    mel = extractor(
        wave.astype(np.float32),
        sampling_rate=SAMPLE_RATE,
        padding="max_length",
        max_length=padded,
        return_tensors="pt",
    ).input_features[0]
    return AudioWindow(mel=mel[:, :needed], frames=frames)


def clip_windows(
    extractor: WhisperFeatureExtractor, wave: np.ndarray, utt: str, long_audio: str = "error"
) -> list[AudioWindow]:
    """The encoder windows of an utterance; over 30 s: ``split`` it into near-equal windows,
    ``truncate`` it to the first 30 s, or stop (``error``)."""
    if long_audio not in LONG_AUDIO:
        raise ValueError(f"long_audio must be one of {LONG_AUDIO}, got {long_audio!r}")
    if wave.ndim != 1 or wave.size == 0:
        raise LalmError(f"{utt}: expected a non-empty mono waveform, got shape {wave.shape}")
    if wave.size > WINDOW_SAMPLES:
        if long_audio == "error":
            raise LalmError(
                f"{utt}: {wave.size / SAMPLE_RATE:.2f} s is longer than the audio encoder's 30 s "
                "window; set long_audio to split or truncate"
            )
        if long_audio == "truncate":
            wave = wave[:WINDOW_SAMPLES]
    return [log_mel(extractor, w) for w in split_windows(wave, WINDOW_SAMPLES)]


def encode(tower, projector, windows: Sequence[AudioWindow]) -> list[torch.Tensor]:
    """Audio tokens ``[num_tokens, text hidden]`` of each window, the windows batched together.

    ``tower`` is a ``Qwen2AudioEncoder``, ``projector`` its ``Qwen2AudioMultiModalProjector``.
    A window's tokens do not depend on the windows it is batched with (key padding mask)."""
    param = tower.conv1.weight
    conv_frames = torch.tensor([num_conv_frames(w.frames) for w in windows], device=param.device)
    x = torch.nn.utils.rnn.pad_sequence([w.mel.T for w in windows], batch_first=True)
    x = x.transpose(1, 2).to(device=param.device, dtype=param.dtype)
    x = F.gelu(tower.conv1(x))
    x = F.gelu(tower.conv2(x)).permute(0, 2, 1)
    length = int(conv_frames.max())
    x = x[:, :length] + tower.embed_positions.weight[:length]
    x = F.dropout(x, p=tower.dropout, training=tower.training)
    valid = torch.arange(length, device=param.device) < conv_frames[:, None]
    mask = create_bidirectional_mask(
        config=tower.config, inputs_embeds=x, attention_mask=valid.long()
    )
    for layer in tower.layers:
        x = layer(x, mask)
    x = tower.avg_pooler(x.permute(0, 2, 1)).permute(0, 2, 1)
    x = projector(tower.layer_norm(x))
    return [x[i, : w.num_tokens] for i, w in enumerate(windows)]


def project(projector, states: Sequence[torch.Tensor], batched: bool = False) -> list[torch.Tensor]:
    """Audio tokens of each clip's tower output ``states``: the projector once per clip, or once
    for all with ``batched`` (ZeRO-3 needs the same module calls on every process, whatever the
    number of clips; the results differ in their last bits)."""
    if batched:
        return list(projector(torch.cat(list(states))).split([len(s) for s in states]))
    return [projector(s) for s in states]
