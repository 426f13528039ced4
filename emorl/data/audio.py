"""Audio loading: soundfile for decoding (PyAV for what libsndfile cannot read: mp4 and other
containers), polyphase resampling to the model rate (16 kHz), channels averaged."""

from __future__ import annotations

import io
import itertools
import os
import subprocess
from collections import Counter
from fractions import Fraction

import numpy as np
import soundfile

from emorl.data.datadir import DataDir

SAMPLE_RATE = 16000


class AudioError(ValueError):
    """Audio that is missing, unreadable, empty, or at an unexpected sample rate."""


def resample(wave: np.ndarray, orig_sr: int, target_sr: int) -> np.ndarray:
    """Resample a 1-D waveform with a polyphase filter (scipy)."""
    if orig_sr == target_sr:
        return wave
    from scipy.signal import resample_poly  # imported here: scipy.signal costs ~0.6 s per process

    ratio = Fraction(target_sr, orig_sr)
    return resample_poly(wave, ratio.numerator, ratio.denominator).astype(np.float32)


def _decode_av(path: str) -> tuple[np.ndarray, int]:
    """The first audio stream of a media file with PyAV (FFmpeg), at its own rate and channels."""
    import av  # PyAV: FFmpeg from PyPI; an extra (emorl[corpora]), imported only when needed

    chunks = []
    with av.open(path) as container:
        if not container.streams.audio:
            raise AudioError(f"{path}: no audio stream")
        resampler = av.AudioResampler(format="flt")  # packed float32; rate and layout kept
        # None at the end flushes the resampler.
        for frame in itertools.chain(container.decode(container.streams.audio[0]), [None]):
            for out in resampler.resample(frame):
                sr = out.sample_rate
                chunks.append(out.to_ndarray().reshape(-1, len(out.layout.channels)))
    if not chunks:
        raise AudioError(f"{path}: the audio stream holds no samples")
    return np.concatenate(chunks), sr


def decode_file(path: str | os.PathLike) -> tuple[np.ndarray, int]:
    """Samples ``float32 [n, channels]`` and sample rate of an audio file: libsndfile (wav, flac,
    ogg, mp3, ...), else PyAV (mp4, m4a and other containers). Unreadable files raise
    :class:`AudioError` naming the file and what both decoders said."""
    path = str(path)
    try:
        return soundfile.read(path, dtype="float32", always_2d=True)
    except Exception as e:  # soundfile raises LibsndfileError (a RuntimeError) or OSError
        if not os.path.isfile(path):
            raise AudioError(f"{path}: cannot read audio (no such file)") from None
        sf_error = e
    try:
        return _decode_av(path)
    except AudioError:
        raise
    except ImportError:
        raise AudioError(
            f"{path}: cannot read audio ({sf_error}); for mp4 and other containers install "
            "PyAV (pip install av)"
        ) from None
    except Exception as e:  # PyAV raises av.error.FFmpegError subclasses and OSError
        raise AudioError(f"{path}: cannot read audio (libsndfile: {sf_error}; PyAV: {e})") from None


def read_audio(
    spec: str,
    target_sr: int = SAMPLE_RATE,
    on_rate_mismatch: str = "resample",
    name: str | None = None,
    resampled: Counter | None = None,
) -> np.ndarray:
    """Read a ``wav.scp`` value (a path, or a command ending in ``|``) as mono float32.

    ``on_rate_mismatch``: ``"resample"`` to ``target_sr`` or ``"error"``. ``name`` (the
    utterance id) goes into errors. ``resampled``: counts the original rates of resampled audio
    (so that the caller can log them once).
    """
    label = f"{name}: {spec}" if name else spec
    try:
        if spec.rstrip().endswith("|"):
            cmd = spec.rstrip()[:-1]
            proc = subprocess.run(cmd, shell=True, capture_output=True, check=False)
            if proc.returncode != 0:
                raise AudioError(
                    f"{label}: command failed ({proc.stderr.decode(errors='replace').strip()})"
                )
            wave, sr = soundfile.read(io.BytesIO(proc.stdout), dtype="float32", always_2d=True)
        else:
            try:
                wave, sr = decode_file(spec)
            except AudioError as e:
                raise AudioError(f"{name}: {e}" if name else str(e)) from None
    except AudioError:
        raise
    except Exception as e:  # soundfile raises LibsndfileError (a RuntimeError) or OSError
        raise AudioError(f"{label}: cannot read audio ({e})") from None
    wave = wave.mean(axis=1)
    if wave.size == 0:
        raise AudioError(f"{label}: empty audio")
    if sr != target_sr:
        if on_rate_mismatch == "error":
            raise AudioError(f"{label}: sample rate {sr} Hz, expected {target_sr} Hz")
        if on_rate_mismatch != "resample":
            raise ValueError(
                f"on_rate_mismatch must be 'resample' or 'error', not {on_rate_mismatch!r}"
            )
        wave = resample(wave, sr, target_sr)
        if resampled is not None:
            resampled[sr] += 1
    return np.ascontiguousarray(wave, dtype=np.float32)


def load_utterance(
    data: DataDir,
    utt: str,
    target_sr: int = SAMPLE_RATE,
    on_rate_mismatch: str = "resample",
    resampled: Counter | None = None,
) -> np.ndarray:
    """The waveform of one utterance of a data dir, cut by ``segments`` when present.

    ``resampled``: see :func:`read_audio`.
    """
    if data.segments is None:
        return read_audio(data.wav_scp[utt], target_sr, on_rate_mismatch, utt, resampled)
    rec, start, end = data.segments[utt].split()
    wave = read_audio(data.wav_scp[rec], target_sr, on_rate_mismatch, f"{utt} ({rec})", resampled)
    piece = wave[int(float(start) * target_sr) : int(float(end) * target_sr)]
    if piece.size == 0:
        raise AudioError(
            f"{utt}: segment {start}-{end} s of {rec} is empty "
            f"(recording is {len(wave) / target_sr:.2f} s)"
        )
    return piece
