import numpy as np
import pytest
import torch
import torchaudio

from emorl.data.espeak import SAMPLE_RATE, EspeakError, synthesize

SENTENCE = "The meeting starts at nine tomorrow morning."


def median_f0(wave: np.ndarray, sr: int) -> float:
    """Median F0 (Hz) by torchaudio's normalised cross-correlation pitch detector."""
    f0 = torchaudio.functional.detect_pitch_frequency(torch.from_numpy(wave)[None], sr, freq_low=60)
    return float(f0.median())


def test_output_is_float_mono_speech_at_22050():
    wave, sr = synthesize(SENTENCE)
    assert sr == SAMPLE_RATE == 22050
    assert wave.dtype == np.float32 and wave.ndim == 1
    assert 1.5 < len(wave) / sr < 4.0
    assert np.abs(wave).max() <= 1.0
    assert np.sqrt(np.mean(wave**2)) > 0.02  # speech, not silence


def test_same_call_twice_in_one_process_is_identical():
    # without a fresh library instance per clip, the second call differs (flutter phase, rand())
    first, _ = synthesize(SENTENCE, voice="en-us+f3", seed=7)
    second, _ = synthesize(SENTENCE, voice="en-us+f3", seed=7)
    assert np.array_equal(first, second)


def test_other_seed_changes_a_noisy_voice():
    a, _ = synthesize(SENTENCE, voice="en-us+f3", seed=1)
    b, _ = synthesize(SENTENCE, voice="en-us+f3", seed=2)
    n = min(len(a), len(b))
    assert np.mean(a[:n] != b[:n]) > 0.5


def test_higher_pitch_raises_f0():
    low, sr = synthesize(SENTENCE, voice="en-us+m1", pitch=20)
    high, _ = synthesize(SENTENCE, voice="en-us+m1", pitch=80)
    assert median_f0(high, sr) > 1.3 * median_f0(low, sr)


def test_female_variant_is_higher_than_male():
    male, sr = synthesize(SENTENCE, voice="en-us+m1")
    female, _ = synthesize(SENTENCE, voice="en-us+f1")
    assert median_f0(female, sr) > 1.4 * median_f0(male, sr)


def test_faster_rate_is_shorter():
    slow, _ = synthesize(SENTENCE, rate=120)
    fast, _ = synthesize(SENTENCE, rate=300)
    assert len(fast) < 0.6 * len(slow)


def test_volume_scales_loudness():
    soft, _ = synthesize(SENTENCE, volume=40)
    loud, _ = synthesize(SENTENCE, volume=160)
    rms = [np.sqrt(np.mean(w**2)) for w in (soft, loud)]
    assert rms[1] > 2 * rms[0]


def test_word_gap_and_ssml_break_add_pauses():
    plain, sr = synthesize(SENTENCE)
    gapped, _ = synthesize(SENTENCE, word_gap=20)  # 200 ms between 7 words
    assert len(gapped) - len(plain) > 0.8 * sr
    ssml, _ = synthesize(f"<speak>{SENTENCE}</speak>", ssml=True)
    broken, _ = synthesize(
        '<speak>The meeting starts <break time="1000ms"/> at nine tomorrow morning.</speak>',
        ssml=True,
    )
    assert 0.9 * sr < len(broken) - len(ssml) < 1.2 * sr


def test_errors_are_explicit():
    with pytest.raises(EspeakError, match="unknown eSpeak voice 'xx-nonsense'"):
        synthesize(SENTENCE, voice="xx-nonsense")
    with pytest.raises(ValueError, match="rate must be an integer in"):
        synthesize(SENTENCE, rate=20)
    with pytest.raises(ValueError, match="empty text"):
        synthesize("  ")
