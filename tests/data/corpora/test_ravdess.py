"""RAVDESS preparer on a fixture copy of the extracted actor folders."""

import pytest
from corpus_fixtures import make_ravdess

from emorl.data.corpora import ravdess
from emorl.data.corpora._common import CorpusError
from emorl.data.datadir import DataDir
from emorl.data.labels import LABEL_SETS


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return make_ravdess(tmp_path_factory.mktemp("ravdess"))


def load(out, name):
    return DataDir.load(out / name, label_set=LABEL_SETS["ravdess"])


def test_speaker_independent_folds_labels_and_statements(corpus, tmp_path, caplog):
    ravdess.prepare(corpus, tmp_path)
    assert "3 files are second copies of others" in caplog.text
    for k in range(1, 5):
        test = load(tmp_path, f"fold{k}_test")
        train, dev = load(tmp_path, f"fold{k}_train"), load(tmp_path, f"fold{k}_dev")
        actors = {f"Actor_{2 * k - 1:02d}", f"Actor_{2 * k:02d}"}
        assert set(test.utt2spk.values()) == actors
        assert len(test.utts) == 6 and len(train.utts) == 16 and len(dev.utts) == 2
        assert not actors & (set(train.utt2spk.values()) | set(dev.utt2spk.values()))
    test = load(tmp_path, "fold1_test")
    assert test.utt2emo["Actor_01-03-01-05-02-02-01-01"] == "angry"
    assert test.utt2emo["Actor_02-03-01-08-01-01-02-02"] == "surprise"
    assert test.text["Actor_01-03-01-01-01-01-01-01"] == "Kids are talking by the door"
    # the Kaggle duplicate tree is not counted twice; song and video files are left out
    assert all("audio_speech_actors" not in path for path in test.wav_scp.values())


def test_song_channel_and_other_fold_counts(corpus, tmp_path):
    ravdess.prepare(corpus, tmp_path, vocal_channel="song", num_folds=2)
    test = load(tmp_path, "fold1_test")
    assert sorted(set(test.utt2emo.values())) == ["happy"]
    assert len(test.utts) == 4
    ravdess.prepare(corpus, tmp_path / "all", vocal_channel="all", num_folds=8)
    assert len(load(tmp_path / "all", "fold8_test").utts) == 4


def test_wrong_directory_and_too_many_folds(corpus, tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(CorpusError, match="no RAVDESS speech files.*Actor_01 ... Actor_24"):
        ravdess.prepare(tmp_path / "empty", tmp_path / "data")
    with pytest.raises(CorpusError, match="cannot make 9 folds from 8 speakers"):
        ravdess.prepare(corpus, tmp_path / "data", num_folds=9)
    assert not (tmp_path / "data").exists()


def test_code_outside_the_documented_set(tmp_path):
    corpus = make_ravdess(tmp_path / "c", actors=2)
    (corpus / "Actor_01" / "03-01-09-01-01-01-01.wav").write_bytes(b"")
    with pytest.raises(CorpusError, match="emotion code 09 or statement code 01 is not a RAVDESS"):
        ravdess.prepare(corpus, tmp_path / "data", num_folds=2)
