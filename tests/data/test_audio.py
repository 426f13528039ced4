"""Audio loading: rates, channels, pipes, segments and errors."""

import numpy as np
import pytest
import soundfile

from emorl.data.audio import AudioError, load_utterance, read_audio, resample
from emorl.data.datadir import DataDir


def sine(sr, seconds=0.5, freq=440.0):
    t = np.arange(int(sr * seconds)) / sr
    return (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def test_resample_keeps_duration_and_frequency():
    wave = resample(sine(22050, 1.0, 440.0), 22050, 16000)
    assert len(wave) == 16000
    spectrum = np.abs(np.fft.rfft(wave))
    assert abs(np.argmax(spectrum) * 16000 / len(wave) - 440) <= 1


def test_read_resamples_or_rejects_other_rates(tmp_path):
    path = tmp_path / "a.wav"
    soundfile.write(path, sine(8000), 8000)
    assert len(read_audio(str(path))) == 8000  # 0.5 s at 16 kHz
    with pytest.raises(AudioError, match=r"utt1: .*a.wav: sample rate 8000 Hz, expected 16000 Hz"):
        read_audio(str(path), on_rate_mismatch="error", name="utt1")


def test_stereo_is_averaged_and_pipes_work(tmp_path):
    path = tmp_path / "s.wav"
    stereo = np.stack([sine(16000), np.zeros(8000, dtype=np.float32)], axis=1)
    soundfile.write(path, stereo, 16000)
    wave = read_audio(f"cat {path} |")
    np.testing.assert_allclose(wave, sine(16000) / 2, atol=1e-4)


def test_errors_name_the_utterance(tmp_path):
    bad = tmp_path / "bad.wav"
    bad.write_text("not audio")
    with pytest.raises(AudioError, match="u9: .*bad.wav: cannot read audio"):
        read_audio(str(bad), name="u9")
    with pytest.raises(AudioError, match="command failed"):
        read_audio("false |", name="u9")
    empty = tmp_path / "empty.wav"
    soundfile.write(empty, np.zeros(0, dtype=np.float32), 16000)
    with pytest.raises(AudioError, match="empty audio"):
        read_audio(str(empty))


def test_segments_cut_the_recording(tmp_path):
    path = tmp_path / "rec.wav"
    wave = np.arange(16000, dtype=np.float32) / 16000
    soundfile.write(path, wave, 16000, subtype="FLOAT")
    data = DataDir(
        wav_scp={"rec": str(path)},
        utt2spk={"u1": "s", "u2": "s"},
        segments={"u1": "rec 0.25 0.5", "u2": "rec 2.0 3.0"},
    )
    np.testing.assert_allclose(load_utterance(data, "u1"), wave[4000:8000])
    with pytest.raises(
        AudioError, match=r"u2: segment 2.0-3.0 s of rec is empty \(recording is 1.00 s\)"
    ):
        load_utterance(data, "u2")
