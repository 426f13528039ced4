"""MER2023 / OV-MERD+ preparer on a fixture copy of the archives (avi and mp4 clips, label CSVs)."""

import logging

import pytest
import soundfile
from corpus_fixtures import make_mer2023, write_csv

from emorl.data.corpora import mer2023
from emorl.data.corpora._common import CorpusError
from emorl.data.datadir import DataDir
from emorl.data.labels import LABEL_SETS


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return make_mer2023(tmp_path_factory.mktemp("MER2023"))


def test_discrete_sets_and_open_vocabulary_set(corpus, tmp_path):
    mer2023.prepare(corpus, tmp_path / "data", nj=2)
    sets = {
        s: DataDir.load(tmp_path / "data" / s, label_set=LABEL_SETS["mer2023"])
        for s in ("train", "dev", "test1", "ovmerdplus")
    }
    assert (len(sets["train"].utts), len(sets["dev"].utts), len(sets["test1"].utts)) == (9, 1, 2)
    assert sets["test1"].utt2emo == {"sample_00000050": "worried", "sample_00000051": "happy"}
    assert not (tmp_path / "data" / "test2").exists()
    ov = sets["ovmerdplus"]
    assert ov.utt2emo is None
    assert ov.utt2ovlabels == {
        "sample_00000001": "happy,relaxed",
        "sample_00000100": "surprised,curious",
        "sample_00000101": "neutral",  # an empty list, read as AffectGPT reads it
    }
    assert ov.wav_scp["sample_00000001"].endswith("ovmerdplus/audio/sample_00000001.wav")
    extracted = ov.wav_scp["sample_00000101"]
    assert extracted == str(tmp_path / "wav" / "mer2023" / "ovmerdplus" / "sample_00000101.wav")
    assert soundfile.info(extracted).samplerate == 16000
    train = sets["train"] if "sample_00000001" in sets["train"].utts else sets["dev"]
    assert train.wav_scp["sample_00000001"].endswith("wav/mer2023/train/sample_00000001.wav")
    assert train.utt2emo["sample_00000001"] == "happy"


def test_transcripts_only_where_complete(corpus, tmp_path, caplog):
    csv = write_csv(
        tmp_path / "transcription.csv",
        ["name", "sentence"],
        [["sample_00000050", "你好"], ["sample_00000051", "再见"], ["sample_00000002", "嗯"]],
    )
    with caplog.at_level(logging.WARNING):
        mer2023.prepare(corpus, tmp_path / "data", transcripts=csv, nj=1)
    assert DataDir.load(tmp_path / "data" / "test1").text == {
        "sample_00000050": "你好",
        "sample_00000051": "再见",
    }
    assert DataDir.load(tmp_path / "data" / "train").text is None
    assert "have no text" in caplog.text


def test_no_label_files_unknown_label_missing_clip(tmp_path, caplog):
    (tmp_path / "empty").mkdir()
    with pytest.raises(CorpusError, match="no label files; expected the extracted MER2023"):
        mer2023.prepare(tmp_path / "empty", tmp_path / "data")
    corpus = make_mer2023(tmp_path / "c")
    labels = corpus / "test-labels" / "test1-label.csv"
    labels.write_text(labels.read_text().replace("worried", "bored"))
    with pytest.raises(CorpusError, match=r"test1-label.csv:2: label 'bored'"):
        mer2023.prepare(corpus, tmp_path / "data", nj=1)
    make_mer2023(corpus)
    (corpus / "mer2023train" / "train" / "sample_00000003.avi").unlink()
    with caplog.at_level(logging.ERROR), pytest.raises(CorpusError, match="1 of 15 audio files"):
        mer2023.prepare(corpus, tmp_path / "data", nj=1)
    assert "train/sample_00000003: <no media file for sample_00000003" in caplog.text
    assert not (tmp_path / "data").exists()


def test_ov_folds_test_every_clip_once(corpus, tmp_path):
    mer2023.prepare(corpus, tmp_path / "data", nj=2, ov_folds=3, dev_ratio=0.5)
    clips = ["sample_00000001", "sample_00000100", "sample_00000101"]  # sorted: fold k tests clip k
    for k, clip in enumerate(clips, 1):
        train, dev, test = (
            DataDir.load(tmp_path / "data" / f"ovmerdplus_fold{k}_{part}")
            for part in ("train", "dev", "test")
        )
        assert test.utts == [clip]
        assert len(dev.utts) == 1 and len(train.utts) == 1  # the other two clips, one each
        assert sorted(train.utts + dev.utts + test.utts) == clips
        assert (
            test.utt2ovlabels[clip]
            == DataDir.load(tmp_path / "data" / "ovmerdplus").utt2ovlabels[clip]
        )
    # the same folds on another run
    mer2023.prepare(corpus, tmp_path / "again", nj=2, ov_folds=3, dev_ratio=0.5)
    for k in (1, 2, 3):
        for part in ("train", "dev", "test"):
            name = f"ovmerdplus_fold{k}_{part}"
            again = (tmp_path / "again" / name / "utt2ovlabels").read_text()
            assert again == (tmp_path / "data" / name / "utt2ovlabels").read_text()


def test_ov_folds_bad_counts(corpus, tmp_path):
    with pytest.raises(CorpusError, match="--ov_folds 1: give 0 .* or at least 2"):
        mer2023.prepare(corpus, tmp_path / "data", ov_folds=1)
    with pytest.raises(CorpusError, match="cannot make 4 folds from 3 speakers"):
        mer2023.prepare(corpus, tmp_path / "data", nj=2, ov_folds=4)
    assert not (tmp_path / "data").exists()
    only_discrete = tmp_path / "discrete"
    write_csv(only_discrete / "train-label.csv", ["name", "discrete", "valence"], [])
    with pytest.raises(CorpusError, match=r"--ov_folds 2 needs OV-MERD\+ \(ovlabel.csv\)"):
        mer2023.prepare(only_discrete, tmp_path / "data", ov_folds=2)
