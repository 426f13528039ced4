"""Exp-dir kinds: detection, the registry, and exp dirs that cannot give a recogniser."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from ser_exp import whisper_small_model

from emorl.infer import KINDS, Recognizer, RecognizerError, detect_kind, register_kind
from emorl.infer.ser import SERRecognizer, training_feats_info


def test_a_stage3_dir_is_of_the_ser_kind(ser_exp):
    assert detect_kind(ser_exp) is SERRecognizer


def test_an_exp_dir_without_a_model_says_what_it_holds(tmp_path):
    exp = tmp_path / "seed1"
    (exp / "checkpoints").mkdir(parents=True)
    (exp / "config.yaml").write_text("seed: 1\n")
    (exp / "train.log").write_text("epoch 1\n")
    with pytest.raises(RecognizerError) as error:
        Recognizer.from_exp_dir(exp)
    message = str(error.value)
    assert (
        f"{exp}: no model of a known kind; it holds checkpoints/, config.yaml, train.log" in message
    )
    assert "ser: model.pt and labels" in message
    with pytest.raises(RecognizerError, match="does not exist"):
        Recognizer.from_exp_dir(tmp_path / "nowhere")
    with pytest.raises(RecognizerError, match="is a file, not an exp dir .*from_pretrained"):
        Recognizer.from_exp_dir(exp / "train.log")
    with pytest.raises(RecognizerError, match=r"not a ser exp dir \(one holds model.pt and labels"):
        SERRecognizer.from_exp_dir(exp)


class _Marker(Recognizer):
    """A kind for the registry tests: a dir holding ``marker.txt``."""

    kind = "marker"
    holds = "marker.txt"
    detects_models = False

    @classmethod
    def detect(cls, exp_dir: Path) -> bool:
        return (exp_dir / "marker.txt").is_file() or (
            cls.detects_models and (exp_dir / "model.pt").is_file()
        )

    @classmethod
    def load(cls, model_dir, **options):
        return cls()

    @classmethod
    def pack_files(cls, exp_dir):
        return {"marker.txt": exp_dir / "marker.txt"}, {}

    def recognize_batch(self, inputs, sample_rate=None):
        return []


@pytest.fixture
def marker_kind():
    register_kind(_Marker)
    yield _Marker
    KINDS.pop("marker")
    _Marker.detects_models = False


def test_a_registered_kind_is_detected_from_what_the_dir_holds(marker_kind, tmp_path, ser_exp):
    (tmp_path / "marker.txt").write_text("x")
    (tmp_path / "empty").mkdir()
    assert isinstance(Recognizer.from_exp_dir(tmp_path), _Marker)
    with pytest.raises(ValueError, match="registered twice"):
        register_kind(_Marker)
    with pytest.raises(RecognizerError, match="Known kinds: marker: marker.txt; ser: model.pt"):
        detect_kind(tmp_path / "empty")
    marker_kind.detects_models = True
    with pytest.raises(RecognizerError, match="matches several kinds"):
        detect_kind(ser_exp)


def test_a_missing_upstream_checkpoint_says_where_it_is_looked_for(tmp_path, monkeypatch):
    monkeypatch.setenv("EMORL_MODEL_DIR", str(tmp_path / "models"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    model_dir = whisper_small_model(tmp_path / "exp", "/elsewhere/models/whisper/small.pt")
    with pytest.raises(RecognizerError) as error:
        Recognizer.from_exp_dir(model_dir)
    message = str(error.value)
    assert (
        "trained on whisper_small features (made with /elsewhere/models/whisper/small.pt" in message
    )
    assert str(tmp_path / "models/whisper/small.pt") in message
    assert "tools/models/whisper/small.pt" in message
    assert str(tmp_path / "cache/whisper/small.pt") in message


def test_upstream_options_that_differ_from_the_dump_stop(ser_exp, tmp_path):
    """The features must be made exactly as the dump's: a recorded option the rebuilt upstream
    does not have (here utterance CMVN) stops, naming it."""
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    for name in ("model.pt", "labels"):
        shutil.copy(ser_exp / name, model_dir / name)
    info = json.loads(training_feats_info(ser_exp).read_text())
    info["extra"]["upstream"]["cmvn"] = True
    (model_dir / "feats_info.json").write_text(json.dumps(info))
    with pytest.raises(
        RecognizerError, match=r"fbank here differs .* in \['cmvn'\]: cmvn True then"
    ):
        Recognizer.from_exp_dir(model_dir)
    info["extra"]["upstream"]["cmvn"] = False
    info["layers"] = [1]
    (model_dir / "feats_info.json").write_text(json.dumps(info))
    with pytest.raises(RecognizerError, match=r"layers=\[1\], but the model .* was trained on"):
        Recognizer.from_exp_dir(model_dir)
