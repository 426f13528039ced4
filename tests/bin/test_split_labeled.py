"""The few-labels protocol end to end: split -> train_ser on the fraction -> train_bgrpo on the
rest. The hidden labels never reach stage 4: poisoning them gives the same model bit for bit."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_train_bgrpo import REPO, same_weights, write_set

from emorl.bin import split_labeled, train_bgrpo, train_ser
from emorl.data.datadir import DataDir, read_table, write_table


@pytest.fixture(scope="module")
def split(tmp_path_factory) -> Path:
    """src_train split 25% labeled (seed 1), a stage-3 model trained on that fraction."""
    root = tmp_path_factory.mktemp("split")
    write_set(root, "src_train", 96, seed=0, shift=0.0)
    write_set(root, "src_dev", 24, seed=1, shift=0.0)
    split_labeled.main(
        [
            "--data_dir", str(root / "data/src_train"), "--fraction", "0.25", "--seed", "1",
            "--labeled_dir", str(root / "data/lab"), "--unlabeled_dir", str(root / "data/unlab"),
            "--feats_dir", str(root / "dump/src_train"),
            "--labeled_feats", str(root / "dump/lab"),
            "--unlabeled_feats", str(root / "dump/unlab"),
        ]
    )  # fmt: skip
    train_ser.main(
        [
            "--label_set", "iemocap4", "--exp_dir", str(root / "exp/ser"), "--seed", "1",
            "--train_data", str(root / "data/lab"), "--train_feats", str(root / "dump/lab"),
            "--dev_data", str(root / "data/src_dev"), "--dev_feats", str(root / "dump/src_dev"),
            "--batch_size", "8", "--hidden_dims", "16", "--max_epochs", "3", "--lr", "0.01",
        ]
    )  # fmt: skip
    return root


def adapt(root: Path, exp: Path) -> None:
    train_bgrpo.main(
        [
            "--config", str(REPO / "egs/mini_emo/emo1/conf/adapt/bgrpo.yaml"),
            "--init_model", str(root / "exp/ser"),
            "--unlabeled_data", str(root / "data/unlab"),
            "--unlabeled_feats", str(root / "dump/unlab"),
            "--source_data", str(root / "data/lab"), "--source_feats", str(root / "dump/lab"),
            "--source_ce_coef", "0.5", "--source_batch_size", "4",
            "--exp_dir", str(exp), "--seed", "1", "--epochs", "2", "--batch_size", "8",
        ]
    )  # fmt: skip


def test_split_dirs_hold_the_fraction_and_the_rest_without_labels(split):
    lab, unlab = DataDir.load(split / "data/lab"), DataDir.load(split / "data/unlab")
    assert len(lab.utts) == 24 and len(unlab.utts) == 72
    assert set(lab.utt2spk.values()) == {"src_trainspk0", "src_trainspk1", "src_trainspk2"}
    assert len(set(lab.utt2emo.values())) == 4
    assert unlab.utt2emo is None and not (split / "data/unlab/utt2emo").exists()


def test_poisoned_hidden_labels_give_the_same_adapted_model(split, tmp_path):
    adapt(split, tmp_path / "clean")
    # Poison every place the hidden labels could come from: the full set's utt2emo, and a utt2emo
    # (wrong labels) put into the unlabeled dir, which the adapter reads for statistics only.
    unlabeled = DataDir.load(split / "data/unlab").utts
    full = read_table(split / "data/src_train/utt2emo")
    wrong = {"angry": "sad", "sad": "happy", "happy": "neutral", "neutral": "angry"}
    write_table(
        split / "data/src_train/utt2emo",
        {u: wrong[e] if u in unlabeled else e for u, e in full.items()},
    )
    write_table(split / "data/unlab/utt2emo", {u: wrong[full[u]] for u in unlabeled})
    try:
        adapt(split, tmp_path / "poisoned")
    finally:
        (split / "data/unlab/utt2emo").unlink()
        write_table(split / "data/src_train/utt2emo", full)
    assert same_weights(tmp_path / "clean", tmp_path / "poisoned")
    clean, poisoned = (tmp_path / name / "model.pt" for name in ("clean", "poisoned"))
    assert clean.read_bytes() == poisoned.read_bytes()


def test_poisoned_visible_labels_change_the_adapted_model(split, tmp_path):
    """The control of the test above: the labels stage 4 may read (the labeled fraction's, for the
    source cross-entropy) do change the model, so the comparison can detect a leak."""
    adapt(split, tmp_path / "clean")
    labels = read_table(split / "data/lab/utt2emo")
    wrong = {"angry": "sad", "sad": "happy", "happy": "neutral", "neutral": "angry"}
    write_table(split / "data/lab/utt2emo", {u: wrong[e] for u, e in labels.items()})
    try:
        adapt(split, tmp_path / "poisoned")
    finally:
        write_table(split / "data/lab/utt2emo", labels)
    assert not same_weights(tmp_path / "clean", tmp_path / "poisoned")
