"""Speech synthesis with eSpeak NG through ctypes (library and data of the espeakng-loader wheel).

eSpeak NG keeps internal state between calls (pitch flutter phase, random generators seeded from
the clock), so two identical calls in one library instance give different samples.
:func:`synthesize` therefore runs every clip in a freshly forked child process, which starts from
the library as initialised (and never used) in the calling process, with eSpeak's and libc's
random generators seeded from ``seed``: the same call gives the same samples, in one process or
across runs. The seed only matters to voices that use noise (the breathy variants, e.g.
``en-us+f3``); the others are fully determined by text and parameters. A fork costs a few
milliseconds, less than the synthesis itself.

Usage::

    from emorl.data.espeak import synthesize
    wave, sr = synthesize("Hello there.", voice="en-us+f3", rate=150, pitch=70, seed=1)  # 22050 Hz
    wave, sr = synthesize('<speak>Well <break time="400ms"/> fine.</speak>', ssml=True)
"""

from __future__ import annotations

import ctypes
import os

import numpy as np

SAMPLE_RATE = 22050  #: eSpeak NG's output rate (Hz); checked against espeak_Initialize's answer

# speak_lib.h constants
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_POS_CHARACTER = 1
_CHARS_UTF8 = 0x1
_SSML = 0x10
_RATE, _VOLUME, _PITCH, _RANGE, _WORDGAP = 1, 2, 3, 4, 7
_SYNTH_CALLBACK = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p
)

#: Allowed ranges of the prosody parameters (eSpeak's documented ranges).
LIMITS = {
    "rate": (80, 450),  # words per minute
    "pitch": (0, 100),  # base pitch, 50 = the voice's normal
    "pitch_range": (0, 100),  # 0 = monotone, 50 = normal
    "volume": (0, 200),  # 100 = normal; above it eSpeak compresses and may distort
    "word_gap": (0, 100),  # extra pause between words, units of 10 ms
}


class EspeakError(RuntimeError):
    """eSpeak NG failed: library not loadable, unknown voice, synthesis error."""


def _check(name: str, value: int) -> int:
    low, high = LIMITS[name]
    if not isinstance(value, (int, np.integer)) or not low <= value <= high:
        raise ValueError(f"eSpeak {name} must be an integer in [{low}, {high}], got {value!r}")
    return int(value)


_library_instance: ctypes.CDLL | None = None


def _library() -> ctypes.CDLL:
    """eSpeak NG, loaded and initialised with the default voice once per process.

    The caller never synthesises with it: every clip runs in a child forked from this state, which
    is the same in every process, and is spared the library and dictionary loading (~15 ms).
    """
    global _library_instance
    if _library_instance is None:
        import espeakng_loader

        lib = ctypes.CDLL(espeakng_loader.get_library_path())
        data_path = espeakng_loader.get_data_path()
        rate_hz = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, data_path.encode(), 0)
        if rate_hz != SAMPLE_RATE:
            raise EspeakError(f"espeak_Initialize returned {rate_hz} (data path {data_path})")
        if lib.espeak_SetVoiceByName(b"en-us") != 0:
            raise EspeakError(f"eSpeak cannot load its default voice en-us from {data_path}")
        _library_instance = lib
    return _library_instance


def _synthesize_here(
    lib: ctypes.CDLL, text: str, voice: str, rate: int, pitch: int, pitch_range: int,
    volume: int, word_gap: int, seed: int, ssml: bool,
) -> np.ndarray:  # fmt: skip
    """Run eSpeak in this process (only ever in a child forked from :func:`_library`'s state)."""
    chunks: list[np.ndarray] = []

    def collect(wav, n, _events):
        if n > 0:
            chunks.append(np.ctypeslib.as_array(wav, shape=(n,)).copy())
        return 0

    callback = _SYNTH_CALLBACK(collect)  # kept referenced until synthesis ends
    lib.espeak_SetSynthCallback(callback)
    if lib.espeak_SetVoiceByName(voice.encode()) != 0:
        raise EspeakError(f"unknown eSpeak voice {voice!r} (e.g. 'en-us', 'en-us+m3', 'en-gb+f2')")
    for param, value in (
        (_RATE, rate),
        (_VOLUME, volume),
        (_PITCH, pitch),
        (_RANGE, pitch_range),
        (_WORDGAP, word_gap),
    ):
        if lib.espeak_SetParameter(param, value, 0) != 0:
            raise EspeakError(f"espeak_SetParameter({param}, {value}) failed")
    lib.espeak_ng_SetRandSeed(ctypes.c_long(seed))
    ctypes.CDLL(None).srand(ctypes.c_uint(seed & 0xFFFFFFFF))
    encoded = text.encode("utf-8") + b"\0"
    flags = _CHARS_UTF8 | (_SSML if ssml else 0)
    status = lib.espeak_Synth(encoded, len(encoded), 0, _POS_CHARACTER, 0, flags, None, None)
    if status != 0 or lib.espeak_Synchronize() != 0:
        raise EspeakError(f"espeak_Synth failed with status {status} for {text!r}")
    if not chunks:
        raise EspeakError(f"eSpeak produced no audio for {text!r}")
    return np.concatenate(chunks)


def _run_in_child(**request) -> np.ndarray:
    """Run :func:`_synthesize_here` in a forked child; return its int16 samples."""
    lib = _library()
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: never returns
        exit_code = 1
        try:
            os.close(read_fd)
            payload = b"\0" + _synthesize_here(lib, **request).astype("<i2").tobytes()
            exit_code = 0
        except BaseException as e:  # reported to the parent; the child exits in any case
            message = str(e) if isinstance(e, EspeakError) else f"{type(e).__name__}: {e}"
            payload = b"\1" + message.encode("utf-8", "replace")
        try:
            with os.fdopen(write_fd, "wb") as pipe:
                pipe.write(payload)
        finally:
            os._exit(exit_code)
    os.close(write_fd)
    with os.fdopen(read_fd, "rb") as pipe:
        payload = pipe.read()
    _, wait_status = os.waitpid(pid, 0)
    if payload[:1] == b"\1":
        raise EspeakError(payload[1:].decode("utf-8", "replace"))
    if payload[:1] != b"\0" or os.waitstatus_to_exitcode(wait_status) != 0:
        raise EspeakError(
            f"eSpeak child process died (exit {os.waitstatus_to_exitcode(wait_status)}) "
            f"synthesising {request['text']!r}"
        )
    return np.frombuffer(payload[1:], dtype="<i2")


def synthesize(
    text: str,
    voice: str = "en-us",
    rate: int = 175,
    pitch: int = 50,
    pitch_range: int = 50,
    volume: int = 100,
    seed: int = 0,
    word_gap: int = 0,
    ssml: bool = False,
) -> tuple[np.ndarray, int]:
    """Synthesise ``text``; return float32 mono samples in [-1, 1] and the sample rate (22050).

    ``voice``: an eSpeak voice, optionally with a variant (``en-us+m3``, ``en-us+f2``).
    ``rate`` words per minute, ``pitch`` and ``pitch_range`` 0-100 (50 = the voice's normal),
    ``volume`` 0-200, ``word_gap`` extra pause between words in units of 10 ms, ``ssml``: ``text``
    is SSML (``<speak>``, ``<break time="300ms"/>``, ``<prosody>``, ``<emphasis>``).
    Deterministic: the same arguments give the same samples (see the module docstring).
    """
    if not text.strip():
        raise ValueError("eSpeak: empty text")
    samples = _run_in_child(
        text=text,
        voice=voice,
        rate=_check("rate", rate),
        pitch=_check("pitch", pitch),
        pitch_range=_check("pitch_range", pitch_range),
        volume=_check("volume", volume),
        word_gap=_check("word_gap", word_gap),
        seed=int(seed),
        ssml=bool(ssml),
    )
    return samples.astype(np.float32) / 32768.0, SAMPLE_RATE
