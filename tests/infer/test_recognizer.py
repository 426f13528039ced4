"""The SER recogniser: stage-3 equality, inputs of any rate, channels and format, long inputs."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile
from ser_exp import LABELS, chdir, speechlike

import emorl
from emorl.data.audio import AudioError, resample
from emorl.data.datadir import DataDir
from emorl.infer import Recognition, Recognizer, RecognizerError
from emorl.infer.ser import SERRecognizer
from emorl.ser.decode_dir import read_posteriors


def assert_same(a: Recognition, b: Recognition, atol: float = 1e-6) -> None:
    """Same label and posteriors to float tolerance (batching pads frames differently)."""
    assert a.label == b.label
    np.testing.assert_allclose(list(a.posteriors.values()), list(b.posteriors.values()), atol=atol)


def recipe_root(exp: Path) -> Path:
    return exp.parents[3]  # <root>/exp/fbank/ser_ser/seed1


def test_one_by_one_gives_the_stage3_posteriors(ser_exp, tmp_path):
    """Recognising each test wav through the API reproduces infer_ser on the stage-2 dump: the
    fbank options (40 bins), frame downsampling and float16 storage are rebuilt from the dump."""
    with chdir(tmp_path):  # not the recipe dir: the dump is found through the exp dir's path
        rec = Recognizer.from_exp_dir(ser_exp)
    assert isinstance(rec, SERRecognizer) and rec.labels == LABELS
    assert rec.upstream.dim == 40 and rec.downsample == 2 and rec.info.dtype == "float16"
    labels, stage3 = read_posteriors(ser_exp / "decode_test")
    predictions = dict(
        line.split() for line in (ser_exp / "decode_test/predictions").read_text().splitlines()
    )
    wav_scp = DataDir.load(recipe_root(ser_exp) / "data/test").wav_scp
    assert len(stage3) == len(wav_scp) == 8
    for utt, path in wav_scp.items():
        result = rec.recognize(path)
        assert result.label == predictions[utt]
        np.testing.assert_allclose(
            [result.posteriors[label] for label in labels], stage3[utt], rtol=0, atol=1e-6
        )
    batch = rec.recognize_batch(list(wav_scp.values()))
    assert [r.source for r in batch] == list(wav_scp.values())
    assert [r.label for r in batch] == [predictions[u] for u in wav_scp]


def test_lazy_top_level_export_and_result(ser_exp, tmp_path):
    assert emorl.Recognizer is Recognizer
    path = tmp_path / "a.wav"
    soundfile.write(path, speechlike(1.0, 2, seed=5), 16000)
    result = Recognizer.from_exp_dir(ser_exp).recognize(path)
    assert isinstance(result, Recognition)
    assert sum(result.posteriors.values()) == pytest.approx(1.0, abs=1e-5)
    assert list(result.posteriors) == LABELS
    assert result.label == result.top(1)[0][0]
    assert result.duration == pytest.approx(1.0) and result.num_windows == 1
    assert json.loads(json.dumps(result.to_dict()))["label"] == result.label


def test_any_rate_and_channels_are_resampled_downmixed_and_logged_once(ser_exp, tmp_path, caplog):
    rec = Recognizer.from_exp_dir(ser_exp)
    wave = speechlike(1.2, 1, seed=7)
    mono = tmp_path / "mono.wav"
    soundfile.write(mono, wave, 16000, subtype="FLOAT")
    reference = rec.recognize(mono)

    stereo = tmp_path / "stereo.wav"  # the same signal on both channels: averaging is exact
    soundfile.write(stereo, np.stack([wave, wave], axis=1), 16000, subtype="FLOAT")
    high = tmp_path / "high.wav"
    wave48k = resample(wave, 16000, 48000)
    soundfile.write(high, wave48k, 48000, subtype="FLOAT")
    with caplog.at_level(logging.INFO):
        results = rec.recognize_batch([stereo, high, stereo, high])
    assert_same(results[0], reference)
    # resampled as stage 2 resamples (emorl.data.audio.resample)
    assert_same(results[1], rec.recognize(resample(wave48k, 48000, 16000), sample_rate=16000))
    assert results[1].duration == pytest.approx(1.2, abs=1e-3)
    assert results[1].label == reference.label
    assert caplog.text.count("averaging 2 channels to mono") == 1
    assert caplog.text.count("resampling 48000 Hz input to 16000 Hz") == 1

    from_array = rec.recognize(np.stack([wave, wave], axis=1), sample_rate=16000)
    assert_same(from_array, reference)
    assert from_array.source == "<array 0>"
    as_int16 = rec.recognize((wave * 32768).astype(np.int16), sample_rate=16000)
    assert as_int16.label == reference.label
    with pytest.raises(AudioError, match="needs its sample_rate"):
        rec.recognize(wave)
    with pytest.raises(AudioError, match="mono.wav: sample_rate=8000 given, but the file is at"):
        rec.recognize(mono, sample_rate=8000)


def test_compressed_formats_and_mp4(ser_exp, tmp_path):
    rec = Recognizer.from_exp_dir(ser_exp)
    wave = speechlike(1.0, 3, seed=11)
    pcm = np.round(wave * 32767).astype(np.int16)  # libsndfile rounds floats differently per format
    soundfile.write(tmp_path / "a.wav", pcm, 16000)
    soundfile.write(tmp_path / "a.flac", pcm, 16000)
    soundfile.write(tmp_path / "a.ogg", wave, 16000, format="OGG", subtype="VORBIS")
    wav, flac, ogg = rec.recognize_batch([tmp_path / f"a.{x}" for x in ("wav", "flac", "ogg")])
    assert_same(flac, wav)  # lossless
    assert ogg.duration == pytest.approx(1.0, abs=0.01)

    av = pytest.importorskip("av")
    mp4 = tmp_path / "clip.mp4"
    with av.open(str(mp4), "w") as container:
        stream = container.add_stream("aac", rate=44100, layout="stereo")
        samples = resample(wave, 16000, 44100)
        frame = av.AudioFrame.from_ndarray(
            np.stack([samples, samples]).astype(np.float32), format="fltp", layout="stereo"
        )
        frame.sample_rate = 44100
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    result = rec.recognize(mp4)
    assert result.duration == pytest.approx(1.0, abs=0.1)  # AAC adds priming samples
    assert result.source == str(mp4)


def test_long_inputs_are_windowed_and_posteriors_averaged(ser_exp, tmp_path):
    rec = Recognizer.from_exp_dir(ser_exp, window_seconds=1.0)
    wave = np.concatenate([speechlike(1.0, 0, seed=1), speechlike(1.5, 3, seed=2)])
    result = rec.recognize(wave, sample_rate=16000)
    assert result.num_windows == 3 and result.duration == pytest.approx(2.5)
    size = -(-wave.size // 3)  # split_windows: three near-equal windows
    windows = [rec.recognize(wave[i : i + size], sample_rate=16000) for i in (0, size, 2 * size)]
    expected = np.mean([list(w.posteriors.values()) for w in windows], axis=0)
    np.testing.assert_allclose(list(result.posteriors.values()), expected, atol=1e-6)
    assert result.label == LABELS[int(np.argmax(expected))]
    whole = Recognizer.from_exp_dir(ser_exp, window_seconds=0).recognize(wave, sample_rate=16000)
    assert whole.num_windows == 1


def test_bad_audio_is_named(ser_exp, tmp_path):
    rec = Recognizer.from_exp_dir(ser_exp)
    notes = tmp_path / "notes.wav"
    notes.write_text("these are my notes, not audio\n")
    with pytest.raises(AudioError, match=r"notes.wav: cannot read audio"):
        rec.recognize(notes)
    with pytest.raises(AudioError, match=r"missing.wav: cannot read audio \(no such file\)"):
        rec.recognize(tmp_path / "missing.wav")
    silent = tmp_path / "silent.wav"
    soundfile.write(silent, np.zeros(16000, dtype=np.float32), 16000)
    with pytest.raises(AudioError, match="silent.wav: silent waveform"):
        rec.recognize(silent)
    short = tmp_path / "short.wav"
    soundfile.write(short, speechlike(0.01, 0, seed=0), 16000)
    with pytest.raises(AudioError, match="short.wav: 160 samples"):
        rec.recognize(short)


def test_exp_dir_found_through_config_yaml_or_explained(ser_exp, tmp_path):
    """The dump is found relative to the recipe dir; when it is gone the error says where it was
    looked for."""
    exp = tmp_path / "exp/fbank/ser_ser/seed1"
    shutil.copytree(ser_exp, exp)
    with pytest.raises(RecognizerError, match=r"train_feats dump/fbank/train: its feats_info"):
        Recognizer.from_exp_dir(exp)
    shutil.copytree(recipe_root(ser_exp) / "dump", tmp_path / "dump")
    assert Recognizer.from_exp_dir(exp).labels == LABELS
