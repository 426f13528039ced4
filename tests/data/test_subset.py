"""The few-labels split: stratified by speaker and class, seed-deterministic, labels hidden."""

from collections import Counter

import kaldiio
import numpy as np
import pytest
import soundfile

from emorl.data.datadir import DataDir, DataDirError
from emorl.data.feats import FeatsInfo, read_feats, subset_dump
from emorl.data.subset import LABEL_TABLES, hide_labels, labeled_split, write_split

CLASSES = ["angry", "happy", "neutral", "sad"]


def corpus(speakers=6, per_cell=5):
    """utt2spk, utt2emo: ``per_cell`` utterances of every speaker and class."""
    utt2spk, utt2emo = {}, {}
    for s in range(speakers):
        for label in CLASSES:
            for i in range(per_cell):
                utt = f"s{s}_{label}_{i}"
                utt2spk[utt], utt2emo[utt] = f"s{s}", label
    return utt2spk, utt2emo


def test_split_is_a_partition_of_the_right_size_and_stratified():
    utt2spk, utt2emo = corpus()  # 6 speakers x 4 classes x 5 = 120
    labeled, unlabeled = labeled_split(utt2spk, utt2emo, 0.2, seed=1)
    assert len(labeled) == 24 and len(unlabeled) == 96
    assert sorted(labeled + unlabeled) == sorted(utt2spk)
    # 0.2 x 5 = 1 per (speaker, class) cell, exactly
    cells = Counter((utt2spk[u], utt2emo[u]) for u in labeled)
    assert set(cells.values()) == {1} and len(cells) == 24


def test_small_fraction_still_covers_every_speaker_and_class():
    utt2spk, utt2emo = corpus()
    # 0.05 x 120 = 6 labeled utterances: no cell reaches 1 by rounding down, yet all 6 speakers
    # and all 4 classes are represented
    labeled, _ = labeled_split(utt2spk, utt2emo, 0.05, seed=3)
    assert len(labeled) == 6
    assert {utt2spk[u] for u in labeled} == {f"s{s}" for s in range(6)}
    assert {utt2emo[u] for u in labeled} == set(CLASSES)


def test_unbalanced_cells_get_proportional_shares():
    utt2spk, utt2emo = corpus(speakers=2, per_cell=2)
    for i in range(20):  # speaker s0 has 20 more neutral utterances
        utt2spk[f"x{i:02d}"], utt2emo[f"x{i:02d}"] = "s0", "neutral"
    labeled, _ = labeled_split(utt2spk, utt2emo, 0.25, seed=0)
    assert len(labeled) == 9  # 0.25 * 36
    # the big cell gets floor(22 / 4) = 5, plus at most the one rounding pick; the other picks
    # go to cells of speaker s1 and of the other classes first
    assert sum(utt2emo[u] == "neutral" and utt2spk[u] == "s0" for u in labeled) in (5, 6)
    assert {utt2spk[u] for u in labeled} == {"s0", "s1"}
    assert {utt2emo[u] for u in labeled} == set(CLASSES)


def test_split_is_deterministic_for_a_seed_and_differs_across_seeds():
    utt2spk, utt2emo = corpus()
    first = labeled_split(utt2spk, utt2emo, 0.2, seed=7)
    assert labeled_split(dict(reversed(utt2spk.items())), utt2emo, 0.2, seed=7) == first
    others = {tuple(labeled_split(utt2spk, utt2emo, 0.2, seed=s)[0]) for s in range(8, 12)}
    assert tuple(first[0]) not in others and len(others) == 4


def test_split_bad_input():
    utt2spk, utt2emo = corpus(speakers=1, per_cell=1)
    for fraction in (0.0, 1.0, -0.1):
        with pytest.raises(ValueError, match="fraction must be in"):
            labeled_split(utt2spk, utt2emo, fraction, seed=0)
    del utt2emo["s0_sad_0"]
    with pytest.raises(DataDirError, match="no label for 1 utterances.*s0_sad_0"):
        labeled_split(utt2spk, utt2emo, 0.5, seed=0)


def write_corpus(root):
    wav = root / "a.wav"
    soundfile.write(wav, np.zeros(160, dtype=np.float32), 16000)
    utt2spk, utt2emo = corpus(speakers=3, per_cell=2)
    data = DataDir(
        wav_scp={u: str(wav) for u in utt2spk},
        utt2spk=utt2spk,
        utt2emo=utt2emo,
        utt2caption={u: f"sounds {e}" for u, e in utt2emo.items()},
        text={u: "some words" for u in utt2spk},
    )
    data.write(root / "data")
    dump = root / "dump"
    dump.mkdir()
    with kaldiio.WriteHelper(f"ark,scp:{dump}/feats.ark,{dump}/feats.scp") as writer:
        for i, utt in enumerate(sorted(utt2spk)):
            writer(utt, np.full((2, 3), i, dtype=np.float32))
    FeatsInfo(upstream="fake", layers=[0], dim=3, frame_rate=50.0, fingerprint="abc").save(dump)
    return data


def test_write_split_hides_every_label_table_and_subsets_the_dump(tmp_path):
    data = write_corpus(tmp_path)
    labeled, unlabeled = write_split(
        tmp_path / "data", 0.5, 1, tmp_path / "lab", tmp_path / "unlab",
        tmp_path / "dump", tmp_path / "lab_feats", tmp_path / "unlab_feats",
    )  # fmt: skip
    assert len(labeled) == 12 and len(unlabeled) == 12
    lab, unlab = DataDir.load(tmp_path / "lab"), DataDir.load(tmp_path / "unlab")
    assert lab.utts == labeled and lab.utt2emo == {u: data.utt2emo[u] for u in labeled}
    assert unlab.utts == unlabeled and unlab.text is not None
    for name in LABEL_TABLES:
        assert getattr(unlab, name) is None and not (tmp_path / "unlab" / name).exists()
    for name, utts in (("lab_feats", labeled), ("unlab_feats", unlabeled)):
        info, feats = read_feats(tmp_path / name)
        assert sorted(feats) == utts
        index = sorted(data.utt2spk).index(utts[0])
        assert np.all(feats[utts[0]] == index)  # the parent's matrices, unchanged
        assert info.fingerprint not in ("", "abc")
    fingerprints = {read_feats(tmp_path / n)[0].fingerprint for n in ("lab_feats", "unlab_feats")}
    assert len(fingerprints) == 2


def test_hide_labels_and_subset_dump_bad_input(tmp_path):
    data = write_corpus(tmp_path)
    assert hide_labels(data).utt2emo is None and data.utt2emo is not None
    with pytest.raises(ValueError, match="no features for 1 utterances.*nope"):
        subset_dump(tmp_path / "dump", ["nope"], tmp_path / "out")
    unlabeled = hide_labels(data)
    unlabeled.write(tmp_path / "nolabels")
    with pytest.raises(DataDirError, match="nolabels/utt2emo: missing"):
        write_split(tmp_path / "nolabels", 0.5, 0, tmp_path / "a", tmp_path / "b")
