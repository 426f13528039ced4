"""s3prl self-supervised upstreams (WavLM, HuBERT, wav2vec 2.0, data2vec) from local checkpoints.

Each name is s3prl's model of that name, loaded through s3prl's ``<family>_local(ckpt=...)`` entry,
so nothing is ever downloaded. The checkpoint is the file s3prl itself would download (its converted
checkpoints; WavLM's are Microsoft's originals), found at ``--upstream_path``, under
``tools/models/s3prl/`` (or ``$EMORL_MODEL_DIR/s3prl/``), or in s3prl's download cache.

``s3prl.nn.S3PRLUpstream`` is not used: importing ``s3prl.nn`` imports every s3prl upstream
(``s3prl.hub``), among them ESPnet's phoneme tokenizer, which tries to download NLTK data and takes
~10 s. The family's ``hubconf`` is imported alone instead, and S3PRLUpstream's length bookkeeping
(``(samples - 1) // stride + 1`` frames per utterance) is repeated here.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from emorl.safe_load import CheckpointError, load_checkpoint_file
from emorl.upstream.base import Upstream, UpstreamError, find_checkpoint, model_dirs

_HF = "https://huggingface.co/s3prl/converted_ckpts/resolve/main/"

#: name -> (s3prl family, checkpoint file name, where s3prl downloads it from), as in
#: s3prl/upstream/<family>/hubconf.py.
MODELS = {
    "wavlm_base": ("wavlm", "wavlm_base.pt", _HF + "wavlm_base.pt"),
    "wavlm_base_plus": ("wavlm", "wavlm_base_plus.pt", _HF + "wavlm_base_plus.pt"),
    "wavlm_large": ("wavlm", "wavlm_large.pt", _HF + "wavlm_large.pt"),
    "hubert_base": ("hubert", "hubert_base_ls960.pt", _HF + "hubert_base_ls960.pt"),
    "hubert_large_ll60k": ("hubert", "hubert_large_ll60k.pt", _HF + "hubert_large_ll60k.pt"),
    "wav2vec2_base": ("wav2vec2", "wav2vec_small.pt", _HF + "wav2vec_small.pt"),
    "wav2vec2_large_ll60k": ("wav2vec2", "wav2vec_vox_new.pt", _HF + "wav2vec_vox_new.pt"),
    "data2vec_base": ("data2vec", "audio_base_ls.pt", _HF + "audio_base_ls.pt"),
    "data2vec_large_ll60k": ("data2vec", "vox_pretrained.pt", _HF + "vox_pretrained.pt"),
}


def checkpoint_candidates(name: str) -> list[Path]:
    """Offline model dirs first, then s3prl's download cache."""
    from s3prl.util.download import urls_to_filepaths

    _, file_name, url = MODELS[name]
    cached = Path(urls_to_filepaths(url, download=False))
    return [d / "s3prl" / file_name for d in model_dirs()] + [cached]


class S3prlUpstream(Upstream):
    """An s3prl upstream by name: all hidden states (CNN output, then each transformer layer)."""

    min_samples = 800  # s3prl pads anything shorter than 0.05 s

    def __init__(self, name: str, path=None, device: str = "cpu"):
        if name not in MODELS:
            raise UpstreamError(f"unknown s3prl upstream {name!r}; known: {', '.join(MODELS)}")
        family, file_name, url = MODELS[name]
        self.checkpoint = find_checkpoint(
            name,
            path,
            checkpoint_candidates(name),
            hint=f"{name} is s3prl's {file_name}, available from {url}",
        )
        if not self.checkpoint.is_file():
            raise UpstreamError(f"{name}: {self.checkpoint} is not a file")
        hubconf = importlib.import_module(f"s3prl.upstream.{family}.hubconf")
        self.name = name
        self.device = torch.device(device)
        try:
            self.expert = getattr(hubconf, f"{family}_local")(ckpt=str(self.checkpoint))
        except Exception as e:
            # A file that is no checkpoint, or one holding code, fails inside torch.load with
            # whatever its unpickler met (IndexError, KeyError, ...) and torch's message advises
            # weights_only=False: name the file instead.
            try:
                load_checkpoint_file(self.checkpoint, f"s3prl {family} checkpoint")
            except CheckpointError as bad:
                raise UpstreamError(f"{name}: {bad}") from None
            # s3prl's loaders fail on another family's checkpoint with a bare KeyError ('cfg',
            # '_ema'), ValueError (missing key) or RuntimeError (state dict mismatch)
            if not isinstance(e, (KeyError, ValueError, RuntimeError)):
                raise
            first_line = str(e).strip().partition("\n")[0]
            reason = f"{type(e).__name__}: {first_line}"
            raise UpstreamError(
                f"{name}: {self.checkpoint} is not an s3prl {family} checkpoint ({reason})"
            ) from e
        self.expert.eval().requires_grad_(False).to(self.device)
        self.stride = self.expert.get_downsample_rates("hidden_states")
        self.frame_rate = 16000 / self.stride
        probe = self._hidden(np.zeros(16000, np.float32))
        self.num_layers = len(probe)
        self.dim = probe[0].shape[-1]

    @torch.inference_mode()
    def _hidden(self, wave: np.ndarray) -> list[torch.Tensor]:
        return list(self.expert([torch.from_numpy(wave).to(self.device)])["hidden_states"])

    def extract(self, waves: Sequence[np.ndarray], layers: Sequence[int]) -> list[np.ndarray]:
        # One utterance at a time: in a zero-padded batch the CNN (group norm over time in the
        # base models) sees the padding, so the shorter utterances' features would change.
        out = []
        for wave in waves:
            hidden = self._hidden(wave)
            feats = torch.stack([hidden[i][0] for i in layers], dim=1).float().cpu().numpy()
            frames = (wave.size - 1) // self.stride + 1
            if feats.shape[0] < frames:  # as S3PRLUpstream._match_length: repeat the last frame
                feats = np.concatenate([feats, np.repeat(feats[-1:], frames - feats.shape[0], 0)])
            out.append(np.ascontiguousarray(feats[:frames]))
        return out

    def describe(self) -> dict:
        return {"checkpoint": str(self.checkpoint), "stride": self.stride}
