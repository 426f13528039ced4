"""s3prl upstreams load from a local checkpoint file, never by download."""

from __future__ import annotations

import numpy as np
import pytest
import s3prl.util.download
import torch
from upstream_fixtures import (
    save_tiny_s3prl_data2vec,
    save_tiny_s3prl_hubert,
    save_tiny_s3prl_wav2vec2,
    save_tiny_s3prl_wavlm,
)

from emorl.upstream import UpstreamError, get_upstream
from emorl.upstream.s3prl_hub import MODELS

# s3prl's models use torch's deprecated weight_norm and positional state_dict arguments
pytestmark = pytest.mark.filterwarnings(
    "ignore:`torch.nn.utils.weight_norm` is deprecated:FutureWarning",
    "ignore:Positional args are being deprecated:FutureWarning",
)

#: every non-WavLM name of the registry -> the fixture saving a tiny checkpoint of its family
#: and whether the name is a large model (layer-norm CNN, pre-norm transformer, normalised input)
FAIRSEQ_FAMILIES = {
    "hubert_base": (save_tiny_s3prl_hubert, False),
    "hubert_large_ll60k": (save_tiny_s3prl_hubert, True),
    "wav2vec2_base": (save_tiny_s3prl_wav2vec2, False),
    "wav2vec2_large_ll60k": (save_tiny_s3prl_wav2vec2, True),
    "data2vec_base": (save_tiny_s3prl_data2vec, False),
    "data2vec_large_ll60k": (save_tiny_s3prl_data2vec, True),
}


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


def test_every_registry_name_is_tested():
    assert set(MODELS) - set(FAIRSEQ_FAMILIES) == {"wavlm_base", "wavlm_base_plus", "wavlm_large"}


@pytest.mark.parametrize("name", sorted(FAIRSEQ_FAMILIES))
def test_fairseq_family_from_a_local_checkpoint_gives_every_layer(name, tmp_path, waves):
    save, large = FAIRSEQ_FAMILIES[name]
    ckpt = save(tmp_path / f"{name}.pt", large=large)
    upstream = get_upstream(name, path=str(ckpt))
    assert (upstream.num_layers, upstream.dim, upstream.frame_rate) == (3, 32, 50.0)
    assert upstream.describe() == {"checkpoint": str(ckpt), "stride": 320}
    feats = upstream.extract(waves, layers=[0, 1, 2])
    for wave, got in zip(waves, feats):
        # 50 frames/s as reported: s3prl's frame count for a 320-sample stride, 32 dims a layer
        assert got.shape == ((wave.size - 1) // 320 + 1, 3, 32)
        assert np.isfinite(got).all()
    assert [f.shape[0] for f in feats] == [100, 35, 155, 65]  # 2.0, 0.7, 3.1, 1.3 s
    assert not np.allclose(feats[0][:, 0], feats[0][:, 2])  # CNN output != last layer
    assert not np.allclose(feats[0][:, 1], feats[0][:, 2])  # the two transformer layers differ
    alone = upstream.extract(waves[2:3], layers=[1])[0]
    np.testing.assert_array_equal(alone[:, 0], feats[2][:, 1])  # deterministic, in any batch
    torch.manual_seed(123)  # the features are the checkpoint's, not the random initialisation's
    again = get_upstream(name, path=str(ckpt)).extract(waves[:1], layers=[0, 1, 2])[0]
    np.testing.assert_array_equal(again, feats[0])
    other = get_upstream(name, path=str(save(tmp_path / "seed1.pt", large=large, seed=1)))
    assert not np.allclose(other.extract(waves[:1], layers=[2])[0][:, 0], feats[0][:, 2])


@pytest.mark.parametrize(
    ("name", "saved_as"),
    [("hubert_base", "wav2vec2_base"), ("wav2vec2_base", "hubert_base"),
     ("data2vec_base", "wav2vec2_base"), ("wavlm_base_plus", "data2vec_base")],
)  # fmt: skip
def test_another_familys_checkpoint_says_which_family(name, saved_as, tmp_path):
    save, _ = FAIRSEQ_FAMILIES[saved_as]
    ckpt = save(tmp_path / "model.pt")
    with pytest.raises(UpstreamError) as err:
        get_upstream(name, path=str(ckpt))
    family = MODELS[name][0]
    assert f"{name}: {ckpt} is not an s3prl {family} checkpoint" in str(err.value)
