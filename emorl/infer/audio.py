"""Inputs of a recogniser as 16 kHz mono waveforms, by the same steps as stage 2's reader.

Files are decoded by :func:`emorl.data.audio.decode_file` (libsndfile, or PyAV for mp4 and other
containers); arrays come with their sample rate. Channels are averaged and other rates resampled
with :func:`emorl.data.audio.resample`, as :func:`emorl.data.audio.read_audio` does for a feature
dump, so that a file gives the features stage 2 gave it. Each conversion is logged once per
:class:`InputReader`.
"""

from __future__ import annotations

import logging
import os

import numpy as np

from emorl.data.audio import SAMPLE_RATE, AudioError, decode_file, resample

#: Suffixes of the files taken from a directory given as input (any file given by name is tried).
AUDIO_SUFFIXES = (
    ".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aiff", ".aif", ".au", ".sph",
    ".mp4", ".m4a", ".mkv", ".mov", ".webm", ".aac",
)  # fmt: skip


class InputReader:
    """Turns files and arrays into mono float32 waveforms at ``target_sr``."""

    def __init__(self, target_sr: int = SAMPLE_RATE):
        self.target_sr = target_sr
        self._logged: set[str] = set()

    def _note(self, message: str) -> None:
        if message not in self._logged:
            self._logged.add(message)
            logging.info("%s (logged once)", message)

    def read(
        self, audio: str | os.PathLike | np.ndarray, sample_rate: int | None, name: str
    ) -> np.ndarray:
        """The waveform of a file or array; ``name`` goes into errors."""
        if _is_tensor(audio):
            audio = audio.detach().cpu().numpy()
        if isinstance(audio, np.ndarray):
            if sample_rate is None:
                raise AudioError(f"{name}: an array needs its sample_rate")
            wave, sr = _as_2d(audio, name), int(sample_rate)
        else:
            wave, sr = decode_file(audio)
            if sample_rate is not None and int(sample_rate) != sr:
                raise AudioError(
                    f"{name}: sample_rate={sample_rate} given, but the file is at {sr} Hz "
                    "(sample_rate is for arrays; files carry their own)"
                )
        if wave.shape[0] == 0:
            raise AudioError(f"{name}: empty audio")
        if wave.shape[1] > 1:
            self._note(f"averaging {wave.shape[1]} channels to mono")
        wave = wave.mean(axis=1)
        if sr != self.target_sr:
            self._note(f"resampling {sr} Hz input to {self.target_sr} Hz")
            wave = resample(wave, sr, self.target_sr)
        return np.ascontiguousarray(wave, dtype=np.float32)


def _is_tensor(x) -> bool:
    return type(x).__module__.startswith("torch") and hasattr(x, "detach")


def _as_2d(wave: np.ndarray, name: str) -> np.ndarray:
    """``[samples]`` or ``[samples, channels]`` (soundfile's layout) -> float32 ``[n, channels]``;
    integer samples are scaled to [-1, 1)."""
    if wave.ndim == 1:
        wave = wave[:, None]
    if wave.ndim != 2:
        raise AudioError(f"{name}: expected samples [n] or [n, channels], got shape {wave.shape}")
    if np.issubdtype(wave.dtype, np.integer):
        wave = wave / float(np.iinfo(wave.dtype).max + 1)
    elif not np.issubdtype(wave.dtype, np.floating):
        raise AudioError(f"{name}: samples of type {wave.dtype}, expected floats or integers")
    return wave.astype(np.float32)


def expand_inputs(paths: list[str | os.PathLike]) -> list[str]:
    """Files as given, directories replaced by their audio files (recursively, sorted); a path
    that does not exist stops, named."""
    files: list[str] = []
    for path in paths:
        path = str(path)
        if os.path.isdir(path):
            found = sorted(
                os.path.join(root, f)
                for root, _, names in os.walk(path)
                for f in names
                if f.lower().endswith(AUDIO_SUFFIXES)
            )
            if not found:
                raise AudioError(
                    f"{path}: a directory with no audio file ({' '.join(AUDIO_SUFFIXES)})"
                )
            files.extend(found)
        elif os.path.exists(path):
            files.append(path)
        else:
            raise AudioError(f"{path}: no such file or directory")
    return files
