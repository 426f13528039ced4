"""The interface every upstream encoder implements, and the checks shared by all of them.

An upstream takes a batch of 16 kHz mono waveforms and returns, per utterance, a float32 array
``[T, L, D]``: ``T`` frames at ``frame_rate`` frames per second (``T == 1`` and ``frame_rate is
None`` for utterance-level features such as eGeMAPS functionals), ``L`` selected layers of ``D``
dims. Layers are numbered ``0 .. num_layers - 1``; for transformer encoders layer 0 is the input
of the first transformer block and layer ``num_layers - 1`` the encoder's output.
"""

from __future__ import annotations

import abc
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

#: Waveforms whose peak stays below one 16-bit quantisation step are silent.
SILENCE_PEAK = 1.0 / 32768


class UpstreamError(ValueError):
    """An upstream that cannot be built (unknown name, missing checkpoint, bad option)."""


class Upstream(abc.ABC):
    """A feature extractor: waveforms in, hidden states of chosen layers out."""

    name: str
    num_layers: int  # layers that can be selected
    dim: int  # D, per layer
    frame_rate: float | None  # frames per second; None for one vector per utterance
    min_samples: int = 400  # shortest waveform it accepts (one 25 ms window)

    @abc.abstractmethod
    def extract(self, waves: Sequence[np.ndarray], layers: Sequence[int]) -> list[np.ndarray]:
        """Features of each waveform (float32 [T, len(layers), D]), in the order given."""

    def cost(self, num_samples: int) -> int:
        """Samples the encoder really processes for a waveform (its padded length), for batching."""
        return num_samples

    def describe(self) -> dict:
        """What went into the features (recorded in ``feats_info.json``)."""
        return {}


def resolve_layers(spec: str | Sequence[int], num_layers: int) -> list[int]:
    """``all``, ``last`` or a comma-separated list (``0,3,6``) -> sorted unique layer indices."""
    if isinstance(spec, str):
        if spec == "all":
            return list(range(num_layers))
        if spec == "last":
            return [num_layers - 1]
        try:
            spec = [int(x) for x in spec.split(",") if x.strip()]
        except ValueError:
            raise UpstreamError(
                f"--layers {spec!r}: expected all, last or numbers like 0,3,6"
            ) from None
    layers = sorted(set(int(x) for x in spec))
    bad = [x for x in layers if not 0 <= x < num_layers]
    if not layers or bad:
        raise UpstreamError(f"layers {bad or spec}: this upstream has layers 0..{num_layers - 1}")
    return layers


def check_waveform(wave: np.ndarray, utt: str, min_samples: int) -> None:
    """Stop with the utterance id on empty, too short, non-finite or silent audio."""
    if wave.size == 0:
        raise ValueError(f"{utt}: empty waveform")
    if not np.isfinite(wave).all():
        raise ValueError(f"{utt}: waveform contains NaN or Inf")
    if wave.size < min_samples:
        raise ValueError(
            f"{utt}: {wave.size} samples ({wave.size / 16000:.3f} s) is shorter than the "
            f"{min_samples} samples this upstream needs"
        )
    if np.abs(wave).max() < SILENCE_PEAK:
        raise ValueError(f"{utt}: silent waveform (peak below one 16-bit step)")


def num_windows(num_samples: int, max_samples: int) -> int:
    """How many windows :func:`split_windows` makes."""
    return -(-num_samples // max_samples)


def split_windows(wave: np.ndarray, max_samples: int) -> list[np.ndarray]:
    """Split a waveform into the fewest windows of at most ``max_samples``, of near-equal length.

    Equal windows (rather than full windows plus a short rest) keep the last window long enough
    for any encoder.
    """
    size = -(-wave.size // num_windows(wave.size, max_samples))
    return [wave[i : i + size] for i in range(0, wave.size, size)]


def model_dirs() -> list[Path]:
    """Where offline model files are looked for: ``$EMORL_MODEL_DIR``, ``<repo>/tools/models``."""
    dirs = []
    if os.environ.get("EMORL_MODEL_DIR"):
        dirs.append(Path(os.environ["EMORL_MODEL_DIR"]))
    dirs.append(Path(__file__).resolve().parents[2] / "tools" / "models")
    return dirs


def find_checkpoint(
    name: str, path: str | os.PathLike | None, candidates: Sequence[Path], hint: str
) -> Path:
    """``path`` if given (it must exist), else the first existing candidate, else an error."""
    if path is not None:
        if not Path(path).exists():
            raise UpstreamError(f"{name}: --upstream_path {path} does not exist")
        return Path(path)
    for candidate in candidates:
        if candidate.exists():
            return candidate
    places = "\n".join(f"  {c}" for c in candidates)
    raise UpstreamError(
        f"{name}: no checkpoint found. Give --upstream_path, or put the file at one of:\n"
        f"{places}\n{hint}"
    )
