"""The decode dir: labels, predictions, posteriors.ark/scp."""

from __future__ import annotations

import shutil

import kaldiio
import numpy as np
import pytest

from emorl.ser.decode_dir import read_posteriors, write_decode_dir


def test_decode_dir_round_trip_and_stale_scores_removed(tmp_path):
    labels = ["angry", "happy", "sad"]
    posteriors = {
        "b": np.array([0.1, 0.7, 0.2], np.float32),
        "a": np.array([0.6, 0.3, 0.1], np.float32),
    }
    out = tmp_path / "decode"
    out.mkdir()
    (out / "scores.json").write_text("{}")
    write_decode_dir(out, posteriors, labels)
    assert not (out / "scores.json").exists()
    assert (out / "labels").read_text() == "angry\nhappy\nsad\n"
    assert (out / "predictions").read_text() == "a angry\nb happy\n"
    scp = kaldiio.load_scp(str(out / "posteriors.scp"))
    np.testing.assert_array_equal(scp["b"], posteriors["b"])
    assert (
        (out / "posteriors.scp")
        .read_text()
        .split()[1]
        .startswith(str(out / "posteriors.ark") + ":")
    )
    shutil.move(out, tmp_path / "moved")
    read_labels, read = read_posteriors(tmp_path / "moved")
    assert read_labels == labels and sorted(read) == ["a", "b"]
    np.testing.assert_array_equal(read["a"], posteriors["a"])


def test_decode_dir_refuses_posteriors_of_the_wrong_size(tmp_path):
    with pytest.raises(ValueError, match=r"u1: posterior of shape \(2,\) for 3 labels"):
        write_decode_dir(tmp_path, {"u1": np.ones(2, np.float32)}, ["a", "b", "c"])
    with pytest.raises(FileNotFoundError):
        read_posteriors(tmp_path / "nothing")
