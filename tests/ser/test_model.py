"""SERClassifier: shapes, masking, pooling statistics, layer weights, and the model dir format."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from emorl.ser.dataset import FeatsDataset, collate
from emorl.ser.model import SERClassifier, load_model, save_model


def batch_of(feats: dict):
    return collate([FeatsDataset(feats)[i] for i in range(len(feats))])


@pytest.mark.parametrize("pooling", ["stats", "attentive", "mean"])
@pytest.mark.parametrize("num_layers", [1, 3])
def test_logits_ignore_padding(pooling, num_layers, tiny_feats):
    torch.manual_seed(0)
    model = SERClassifier(6, num_layers, 4, pooling=pooling, hidden_dims=[16]).eval()
    rng = np.random.default_rng(1)
    short = rng.normal(size=(3, num_layers, 6)).astype(np.float32)
    long = rng.normal(size=(11, num_layers, 6)).astype(np.float32)
    x, lengths, _, _ = batch_of({"a": short, "b": long})
    assert x.shape == (2, 11, num_layers, 6) and lengths.tolist() == [3, 11]
    together = model(x, lengths)
    alone = model(torch.from_numpy(short)[None], torch.tensor([3]))
    assert together.shape == (2, 4)
    torch.testing.assert_close(together[0], alone[0])


def test_stats_pooling_is_the_mean_and_std_of_the_valid_frames():
    model = SERClassifier(2, 1, 3, pooling="stats")
    frames = np.array([[1.0, 10.0], [3.0, 10.0], [5.0, 13.0]], dtype=np.float32)
    x, lengths, _, _ = batch_of({"a": frames[:, None, :], "b": np.zeros((5, 1, 2), np.float32)})
    pooled = model.pool(x, lengths)[0].detach().numpy()
    np.testing.assert_allclose(pooled[:2], frames.mean(axis=0), rtol=1e-6)
    np.testing.assert_allclose(pooled[2:], frames.std(axis=0), rtol=1e-4)


def test_normalisation_and_layer_weights():
    model = SERClassifier(2, 2, 3, pooling="mean")
    model.set_normalization(
        torch.tensor([[1.0, 1.0], [0.0, 0.0]]), torch.tensor([[2.0, 2.0], [1.0, 1.0]])
    )
    x = torch.tensor([[[[3.0, 5.0], [7.0, 9.0]]]])  # [B=1, T=1, L=2, D=2]
    torch.testing.assert_close(model.layer_weights(), torch.tensor([0.5, 0.5]))
    torch.testing.assert_close(
        model.pool(x, torch.tensor([1])), torch.tensor([[(1.0 + 7.0) / 2, (2.0 + 9.0) / 2]])
    )
    with torch.no_grad():
        model.layer_logits.copy_(torch.tensor([30.0, 0.0]))  # all weight on layer 0
    torch.testing.assert_close(model.pool(x, torch.tensor([1])), torch.tensor([[1.0, 2.0]]))


def test_bad_shapes_and_options_stop():
    model = SERClassifier(6, 2, 4)
    with pytest.raises(ValueError, match=r"expected features \[B, T, 2, 6\], got \[1, 5, 2, 7\]"):
        model(torch.zeros(1, 5, 2, 7), torch.tensor([5]))
    with pytest.raises(ValueError, match="unknown pooling 'max'"):
        SERClassifier(6, 2, 4, pooling="max")


def test_save_and_load_round_trip(tmp_path, tiny_feats):
    torch.manual_seed(0)
    model = SERClassifier(6, 2, 4, pooling="attentive", hidden_dims=[8, 8]).eval()
    model.set_normalization(torch.full((2, 6), 0.5), torch.full((2, 6), 2.0))
    labels = ["angry", "happy", "neutral", "sad"]
    save_model(model, tmp_path, labels, {**model.config, "feats": {"upstream": "fake"}})
    loaded, loaded_labels, config = load_model(tmp_path)
    assert (
        loaded_labels == labels
        and (tmp_path / "labels").read_text() == "angry\nhappy\nneutral\nsad\n"
    )
    assert config["feats"] == {"upstream": "fake"} and config["hidden_dims"] == [8, 8]
    assert not loaded.training
    x, lengths, _, _ = batch_of(dict(list(tiny_feats[0].items())[:5]))
    torch.testing.assert_close(loaded(x, lengths), model(x, lengths))
    assert not list(tmp_path.glob(".*tmp"))


def test_save_model_refuses_inconsistent_config_or_labels(tmp_path):
    model = SERClassifier(6, 2, 4)
    with pytest.raises(ValueError, match="config pooling='attentive' but the model has 'stats'"):
        save_model(model, tmp_path, list("abcd"), {"pooling": "attentive"})
    with pytest.raises(ValueError, match="3 labels for a model of 4 classes"):
        save_model(model, tmp_path, list("abc"), model.config)
    with pytest.raises(FileNotFoundError, match="no model"):
        load_model(tmp_path)
