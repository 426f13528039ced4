"""s3prl upstreams load from a local checkpoint file, never by download."""

from __future__ import annotations

import numpy as np
import pytest
import s3prl.util.download
from upstream_fixtures import save_tiny_s3prl_wavlm

from emorl.upstream import UpstreamError, get_upstream


@pytest.fixture(scope="module")
def wavlm_ckpt(tmp_path_factory):
    return save_tiny_s3prl_wavlm(tmp_path_factory.mktemp("s3prl") / "wavlm_base_plus.pt")


def test_wavlm_from_a_local_checkpoint_gives_every_layer(wavlm_ckpt, waves):
    upstream = get_upstream("wavlm_base_plus", path=str(wavlm_ckpt))
    assert (upstream.num_layers, upstream.dim, upstream.frame_rate) == (3, 32, 50.0)
    feats = upstream.extract(waves, layers=[0, 2])
    for wave, got in zip(waves, feats):
        assert got.shape == ((wave.size - 1) // 320 + 1, 2, 32)  # s3prl's frame count
        assert np.isfinite(got).all()
    alone = upstream.extract(waves[1:2], layers=[2])[0]
    np.testing.assert_array_equal(alone[:, 0], feats[1][:, 1])  # batch-independent
    assert not np.allclose(feats[0][:, 0], feats[0][:, 1])  # two different layers


def test_checkpoint_found_under_the_model_dir(wavlm_ckpt, tmp_path, monkeypatch):
    (tmp_path / "s3prl").mkdir()
    (tmp_path / "s3prl" / "wavlm_large.pt").write_bytes(wavlm_ckpt.read_bytes())
    monkeypatch.setenv("EMORL_MODEL_DIR", str(tmp_path))
    assert get_upstream("wavlm_large").checkpoint == tmp_path / "s3prl" / "wavlm_large.pt"


def test_missing_checkpoint_says_which_file_and_where(tmp_path, monkeypatch):
    monkeypatch.setenv("EMORL_MODEL_DIR", str(tmp_path / "models"))
    monkeypatch.setattr(s3prl.util.download, "_download_dir", tmp_path / "cache")
    with pytest.raises(UpstreamError) as err:
        get_upstream("hubert_large_ll60k")
    message = str(err.value)
    assert str(tmp_path / "models" / "s3prl" / "hubert_large_ll60k.pt") in message
    assert "tools/models/s3prl/hubert_large_ll60k.pt" in message
    assert "converted_ckpts/resolve/main/hubert_large_ll60k.pt" in message
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").iterdir())
