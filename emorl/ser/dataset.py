"""Utterance features (from :func:`emorl.data.feats.read_feats`) with optional labels, as batches.

A batch is ``(feats [B, Tmax, L, D] zero-padded, lengths [B], label_ids [B], utts)``, with
``label_ids == -1`` for unlabeled utterances.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, DistributedSampler

from emorl.ser.coverage import CoverageError, check_coverage  # noqa: F401  (part of this API)

UNLABELED = -1


class FeatsDataset(Dataset):
    """Items ``(utt, feats [T, L, D] float32 tensor, label_id)`` over in-memory features.

    ``utt2label`` (optional) gives labels, mapped to ids by their position in ``labels``; a label
    not in ``labels`` stops, naming the utterance. ``utts`` (default: all of ``feats``, sorted)
    selects and orders the utterances.
    """

    def __init__(
        self,
        feats: dict[str, np.ndarray],
        utt2label: dict[str, str] | None = None,
        labels: Sequence[str] | None = None,
        utts: Sequence[str] | None = None,
    ):
        self.utts = sorted(feats) if utts is None else list(utts)
        self.feats = feats
        self.label_ids = [UNLABELED] * len(self.utts)
        if utt2label is not None:
            if labels is None:
                raise ValueError("FeatsDataset: utt2label given without the label list")
            index = {label: i for i, label in enumerate(labels)}
            for i, utt in enumerate(self.utts):
                if utt not in utt2label:
                    raise CoverageError(f"utterance {utt} has no label")
                label = utt2label[utt]
                if label not in index:
                    raise ValueError(
                        f"utterance {utt}: label {label!r} is not one of the classes {list(labels)}"
                    )
                self.label_ids[i] = index[label]
        for utt in self.utts:
            if utt not in feats:
                raise CoverageError(f"utterance {utt} has no features")
            if feats[utt].ndim != 3 or feats[utt].shape[0] == 0:
                raise ValueError(
                    f"utterance {utt}: features of shape {feats[utt].shape}, expected [T>=1, L, D]"
                )

    def __len__(self) -> int:
        return len(self.utts)

    def __getitem__(self, i: int) -> tuple[str, torch.Tensor, int]:
        utt = self.utts[i]
        return (
            utt,
            torch.tensor(self.feats[utt], dtype=torch.float32),
            self.label_ids[i],
        )


def collate(batch: list[tuple[str, torch.Tensor, int]]):
    """Pad a list of items into ``(feats [B, Tmax, L, D], lengths [B], label_ids [B], utts)``."""
    utts = [utt for utt, _, _ in batch]
    lengths = torch.tensor([x.shape[0] for _, x, _ in batch], dtype=torch.long)
    feats = torch.nn.utils.rnn.pad_sequence([x for _, x, _ in batch], batch_first=True)
    label_ids = torch.tensor([label for _, _, label in batch], dtype=torch.long)
    return feats, lengths, label_ids, utts


def make_loader(
    dataset: FeatsDataset,
    batch_size: int,
    shuffle: bool = False,
    seed: int = 0,
    drop_last: bool = False,
    num_replicas: int = 1,
    rank: int = 0,
) -> DataLoader:
    """A loader over ``dataset``; with ``shuffle`` the order depends only on ``seed`` and the epoch.

    Call ``loader.sampler.set_epoch(epoch)`` before each epoch. ``num_replicas``/``rank`` shard the
    data for data-parallel training (each process gets ``ceil(N / num_replicas)`` items; the last
    ones repeat to even the shards out, as torch's DistributedSampler does).
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    # DistributedSampler also for one process: the same seed + epoch shuffling everywhere,
    # which makes an interrupted and resumed run see the same batches.
    sampler = DistributedSampler(
        dataset, num_replicas=num_replicas, rank=rank, shuffle=shuffle, seed=seed, drop_last=False
    )
    return DataLoader(
        dataset, batch_size=batch_size, sampler=sampler, collate_fn=collate, drop_last=drop_last
    )
