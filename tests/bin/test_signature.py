"""emorl.bin.signature: the fingerprint lines a recipe unit's signature holds."""

import hashlib
import json

import pytest

from emorl.bin import signature


def test_dump_model_and_other_dirs(tmp_path, capsys):
    dump = tmp_path / "dump"
    dump.mkdir()
    (dump / "feats_info.json").write_text(json.dumps({"upstream": "fbank", "fingerprint": "f00"}))
    model = tmp_path / "model"
    model.mkdir()
    (model / "model.pt").write_bytes(b"weights")
    signature.main([str(dump), str(model)])
    assert capsys.readouterr().out.splitlines() == [
        f"f00  {dump}",
        f"{hashlib.sha256(b'weights').hexdigest()}  {model}",
    ]
    with pytest.raises(FileNotFoundError, match=f"{tmp_path}: neither a feature dump"):
        signature.main([str(tmp_path)])
