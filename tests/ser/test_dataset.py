"""FeatsDataset, collate and make_loader."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from emorl.ser.dataset import UNLABELED, FeatsDataset, make_loader


def test_batches_are_padded_with_lengths_labels_and_utts(tiny_feats, labels):
    feats, utt2emo = tiny_feats
    dataset = FeatsDataset(feats, utt2emo, labels)
    x, lengths, label_ids, utts = next(iter(make_loader(dataset, batch_size=5)))
    assert utts == sorted(feats)[:5]
    assert lengths.tolist() == [feats[u].shape[0] for u in utts]
    assert x.shape == (5, max(lengths), 2, 6) and x.dtype == torch.float32
    assert label_ids.tolist() == [labels.index(utt2emo[u]) for u in utts]
    for k, utt in enumerate(utts):
        np.testing.assert_array_equal(x[k, : lengths[k]].numpy(), feats[utt])
        assert not x[k, lengths[k] :].any()


def test_unlabeled_items_have_label_minus_one(tiny_feats):
    _, _, label_ids, _ = next(iter(make_loader(FeatsDataset(tiny_feats[0]), batch_size=4)))
    assert label_ids.tolist() == [UNLABELED] * 4 == [-1] * 4


def test_shuffling_depends_on_seed_and_epoch_and_shards_cover_the_set(tiny_feats):
    dataset = FeatsDataset(tiny_feats[0])

    def order(seed, epoch, **kw):
        loader = make_loader(dataset, batch_size=7, shuffle=True, seed=seed, **kw)
        loader.sampler.set_epoch(epoch)
        return [u for batch in loader for u in batch[3]]

    assert order(0, 1) == order(0, 1)
    assert order(0, 1) != order(0, 2) and order(0, 1) != order(1, 1)
    assert sorted(order(0, 1)) == sorted(tiny_feats[0])
    shards = [order(0, 1, num_replicas=2, rank=r) for r in (0, 1)]
    assert len(shards[0]) == len(shards[1]) == 24
    assert sorted(shards[0] + shards[1]) == sorted(tiny_feats[0])


def test_bad_labels_and_empty_features_stop(tiny_feats, labels):
    feats, utt2emo = tiny_feats
    with pytest.raises(
        ValueError, match=r"utterance utt0002: label 'fear' is not one of the classes"
    ):
        FeatsDataset(feats, {**utt2emo, "utt0002": "fear"}, labels)
    with pytest.raises(ValueError, match=r"utterance utt0001: features of shape \(0, 2, 6\)"):
        FeatsDataset({**feats, "utt0001": np.zeros((0, 2, 6), np.float32)})
