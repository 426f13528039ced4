"""Shared upstream pieces: layer selection, input checks, windows, checkpoint lookup."""

from __future__ import annotations

import numpy as np
import pytest

from emorl.upstream.base import (
    UpstreamError,
    check_waveform,
    find_checkpoint,
    model_dirs,
    resolve_layers,
    split_windows,
)


def test_resolve_layers():
    assert resolve_layers("all", 5) == [0, 1, 2, 3, 4]
    assert resolve_layers("last", 5) == [4]
    assert resolve_layers("3,0, 3", 5) == [0, 3]
    assert resolve_layers([2], 5) == [2]
    with pytest.raises(UpstreamError, match=r"layers \[5\]: this upstream has layers 0..4"):
        resolve_layers("0,5", 5)
    with pytest.raises(UpstreamError, match="expected all, last or numbers"):
        resolve_layers("first", 5)


@pytest.mark.parametrize(
    "wave, message",
    [
        (np.zeros(0, np.float32), "u1: empty waveform"),
        (np.array([0.1, np.nan] * 400, np.float32), "u1: waveform contains NaN or Inf"),
        (np.full(800, np.inf, np.float32), "u1: waveform contains NaN or Inf"),
        (np.full(100, 0.5, np.float32), r"u1: 100 samples \(0.006 s\) is shorter than the 400"),
        (np.zeros(16000, np.float32), r"u1: silent waveform"),
        (np.full(16000, 1e-5, np.float32), r"u1: silent waveform"),
    ],
)
def test_bad_waveforms_stop_with_the_utterance_id(wave, message):
    with pytest.raises(ValueError, match=message):
        check_waveform(wave, "u1", min_samples=400)


def test_quiet_but_not_silent_passes():
    check_waveform(np.full(16000, 1e-4, np.float32), "u1", min_samples=400)


def test_split_windows_gives_near_equal_windows_within_the_limit():
    wave = np.arange(1000)
    assert [w.size for w in split_windows(wave, 1000)] == [1000]
    assert [w.size for w in split_windows(wave, 999)] == [500, 500]
    assert [w.size for w in split_windows(np.arange(2001), 1000)] == [667, 667, 667]
    np.testing.assert_array_equal(np.concatenate(split_windows(wave, 300)), wave)


def test_find_checkpoint_order(tmp_path, monkeypatch):
    monkeypatch.setenv("EMORL_MODEL_DIR", str(tmp_path / "env"))
    assert model_dirs()[0] == tmp_path / "env" and model_dirs()[1].name == "models"
    a, b = tmp_path / "a.pt", tmp_path / "b.pt"
    b.touch()
    assert find_checkpoint("m", None, [a, b], hint="") == b
    a.touch()
    assert find_checkpoint("m", None, [a, b], hint="") == a
    assert find_checkpoint("m", b, [a], hint="") == b
    with pytest.raises(UpstreamError, match="m: --upstream_path .*c.pt does not exist"):
        find_checkpoint("m", tmp_path / "c.pt", [a], hint="")
    with pytest.raises(UpstreamError, match=r"(?s)m: no checkpoint found.*x.pt.*get it from here"):
        find_checkpoint("m", None, [tmp_path / "x.pt"], hint="get it from here")
