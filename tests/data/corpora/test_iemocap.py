"""IEMOCAP preparer on a fixture copy of IEMOCAP_full_release."""

import collections
import logging

import pytest
from corpus_fixtures import make_iemocap

from emorl.data.corpora import iemocap
from emorl.data.corpora._common import CorpusError
from emorl.data.datadir import DataDir


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return make_iemocap(tmp_path_factory.mktemp("IEMOCAP_full_release"))


@pytest.fixture(scope="module")
def prepared(corpus, tmp_path_factory):
    out = tmp_path_factory.mktemp("data")
    iemocap.prepare(corpus, out)
    return out


def load(out, name):
    return DataDir.load(
        out / name, label_set=["angry", "excited", "frustrated", "happy", "neutral", "sad"]
    )


def test_five_leave_one_session_out_folds(prepared):
    for k in range(1, 6):
        train, dev, test = (load(prepared, f"fold{k}_{part}") for part in ("train", "dev", "test"))
        assert set(test.utt2spk.values()) == {f"Ses0{k}F", f"Ses0{k}M"}
        assert len(test.utts) == 5
        assert len(train.utts) == 18 and len(dev.utts) == 2
        assert not set(train.utts) & set(dev.utts)
        assert all(not spk.startswith(f"Ses0{k}") for spk in train.utt2spk.values())
        assert all(not spk.startswith(f"Ses0{k}") for spk in dev.utt2spk.values())


def test_four_class_labels_speakers_and_text(prepared):
    test = load(prepared, "fold2_test")
    assert test.utt2emo == {
        "Ses02F-Ses02F_impro01_F000": "neutral",
        "Ses02F-Ses02F_impro01_F001": "happy",  # exc merged into happy
        "Ses02F-Ses02M_script01_1_F000": "sad",
        "Ses02M-Ses02F_impro01_M000": "angry",
        "Ses02M-Ses02M_script01_1_M000": "happy",
    }
    # the speaker is the utterance's own gender letter, not the dialog's
    assert test.utt2spk["Ses02M-Ses02F_impro01_M000"] == "Ses02M"
    assert test.text["Ses02F-Ses02F_impro01_F001"] == "Utterance 2 of Ses02F_impro01."
    assert test.wav_scp["Ses02F-Ses02F_impro01_F000"].endswith(
        "Session2/sentences/wav/Ses02F_impro01/Ses02F_impro01_F000.wav"
    )


def test_six_classes_and_improvised_only(corpus, tmp_path):
    iemocap.prepare(corpus, tmp_path / "six", label_set="iemocap6")
    labels = collections.Counter(load(tmp_path / "six", "fold1_test").utt2emo.values())
    assert labels == {"neutral": 1, "angry": 1, "excited": 1, "sad": 1, "happy": 1, "frustrated": 1}
    iemocap.prepare(corpus, tmp_path / "impro", improvised_only=True)
    test = load(tmp_path / "impro", "fold3_test")
    assert sorted(test.utt2emo.values()) == ["angry", "happy", "neutral"]
    assert all("_impro" in utt for utt in test.utts)


def test_rerun_is_free_and_other_options_redo(corpus, tmp_path, caplog):
    out = tmp_path / "data"
    iemocap.prepare(corpus, out)
    first = (out / "fold1_train" / "wav.scp").stat().st_mtime_ns
    with caplog.at_level(logging.INFO):
        iemocap.prepare(corpus, out)
    assert "already prepared" in caplog.text
    assert (out / "fold1_train" / "wav.scp").stat().st_mtime_ns == first
    iemocap.prepare(corpus, out, dev_ratio=0.25)
    assert len(DataDir.load(out / "fold1_dev").utts) == 5


def test_total_differs_from_official_warns_with_both_numbers(corpus, tmp_path, caplog):
    with caplog.at_level(logging.WARNING):
        iemocap.prepare(corpus, tmp_path / "data")
    assert "25 utterances, but the official distribution has 5531" in caplog.text


def test_wrong_corpus_path_says_what_is_expected(tmp_path):
    with pytest.raises(CorpusError, match="contains Session1 ... Session5"):
        iemocap.prepare(tmp_path / "nope", tmp_path / "data")
    (tmp_path / "other" / "Session1").mkdir(parents=True)
    with pytest.raises(CorpusError, match="Session2: no such directory"):
        iemocap.prepare(tmp_path / "other", tmp_path / "data")


def test_missing_label_files(corpus, tmp_path):
    broken = make_iemocap(tmp_path / "c")
    for f in (broken / "Session4" / "dialog" / "EmoEvaluation").glob("*.txt"):
        f.unlink()
    with pytest.raises(CorpusError, match="Session4/dialog/EmoEvaluation: no label files"):
        iemocap.prepare(broken, tmp_path / "data")
    assert not (tmp_path / "data").exists()


def test_unknown_label_names_file_and_line(tmp_path):
    broken = make_iemocap(tmp_path / "c")
    label_file = broken / "Session1" / "dialog" / "EmoEvaluation" / "Ses01F_impro01.txt"
    label_file.write_text(label_file.read_text().replace("\tang\t", "\tbored\t"))
    with pytest.raises(
        CorpusError, match=r"Ses01F_impro01.txt:7: label 'bored' of Ses01F_impro01_M000"
    ):
        iemocap.prepare(broken, tmp_path / "data")


def test_unreadable_audio_reported_per_file_and_nothing_written(tmp_path, caplog):
    broken = make_iemocap(tmp_path / "c")
    wavs = broken / "Session3" / "sentences" / "wav" / "Ses03F_impro01"
    (wavs / "Ses03F_impro01_F000.wav").write_bytes(b"not audio")
    (wavs / "Ses03F_impro01_M000.wav").unlink()
    with caplog.at_level(logging.ERROR), pytest.raises(CorpusError, match="2 of 25 audio files"):
        iemocap.prepare(broken, tmp_path / "data")
    assert "Ses03F_impro01_F000.wav: not readable audio" in caplog.text
    assert "Ses03F_impro01_M000.wav: file does not exist" in caplog.text
    assert not (tmp_path / "data").exists()
    iemocap.prepare(broken, tmp_path / "data", skip_bad_media=True)
    assert len(DataDir.load(tmp_path / "data" / "fold3_test").utts) == 3
