"""Every loader names a file that is not a checkpoint, and refuses one that would run code:
--upstream_path for whisper, s3prl and hf, and stage 3's model.pt."""

import os

import pytest
import torch
from upstream_fixtures import save_tiny_hf_wavlm

from emorl.safe_load import CheckpointError
from emorl.ser.model import load_model
from emorl.upstream import get_upstream
from emorl.upstream.base import UpstreamError


class RunsCode:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def bad_files(tmp_path):
    """name -> (file, the words the error must contain)"""
    empty = tmp_path / "empty.pt"
    empty.write_bytes(b"")
    text = tmp_path / "text.pt"
    text.write_text("this is not a checkpoint\n")
    evil = tmp_path / "evil.pt"
    torch.save({"dims": RunsCode(tmp_path / "pwned")}, evil)
    return {
        "empty": (empty, "not a PyTorch"),
        "text": (text, "not a PyTorch"),
        "evil": (evil, "refused"),
    }


@pytest.mark.parametrize("kind", ["empty", "text", "evil"])
@pytest.mark.parametrize(
    "name, what",
    [("whisper_tiny", "Whisper checkpoint"), ("wavlm_base_plus", "s3prl wavlm checkpoint")],
)
def test_upstream_path_that_is_no_checkpoint_is_named(tmp_path, kind, name, what):
    path, words = bad_files(tmp_path)[kind]
    with pytest.raises(UpstreamError) as err:
        get_upstream(name, path=str(path))
    message = str(err.value)
    assert f"{name}: {path}: {words}" in message and what in message
    assert "weights_only" not in message
    assert not (tmp_path / "pwned").exists()


@pytest.mark.parametrize("kind", ["empty", "text", "evil"])
def test_hf_weights_that_are_no_checkpoint_are_named(tmp_path, kind):
    model_dir = save_tiny_hf_wavlm(tmp_path / "wavlm")
    for weights in model_dir.glob("*.safetensors"):
        weights.unlink()
    path, words = bad_files(tmp_path)[kind]
    (model_dir / "pytorch_model.bin").write_bytes(path.read_bytes())
    with pytest.raises(UpstreamError) as err:
        get_upstream(f"hf:{model_dir}")
    message = str(err.value)
    assert f"{model_dir / 'pytorch_model.bin'}: {words}" in message
    assert "weights_only" not in message
    assert not (tmp_path / "pwned").exists()


def test_hf_safetensors_that_is_not_one_is_named(tmp_path):
    model_dir = save_tiny_hf_wavlm(tmp_path / "wavlm")
    weights = next(model_dir.glob("*.safetensors"))
    weights.write_text("not weights")
    with pytest.raises(UpstreamError, match=f"{weights}: not a safetensors file"):
        get_upstream(f"hf:{model_dir}")


@pytest.mark.parametrize("kind", ["empty", "text", "evil"])
def test_ser_model_that_is_no_checkpoint_is_named(tmp_path, kind):
    path, words = bad_files(tmp_path)[kind]
    (tmp_path / "exp").mkdir()
    (tmp_path / "exp" / "model.pt").write_bytes(path.read_bytes())
    with pytest.raises(CheckpointError) as err:
        load_model(tmp_path / "exp")
    assert f"{tmp_path / 'exp' / 'model.pt'}: {words}" in str(err.value)
    assert "SER model" in str(err.value)
    assert not (tmp_path / "pwned").exists()
