"""CREMA-D preparer on a fixture copy of the AudioWAV folder."""

import logging

import pytest
from corpus_fixtures import make_cremad

from emorl.data.corpora import cremad
from emorl.data.corpora._common import CorpusError
from emorl.data.datadir import DataDir
from emorl.data.labels import LABEL_SETS


def test_folds_labels_text_and_known_broken_file(tmp_path, caplog):
    corpus = make_cremad(tmp_path / "CREMA-D")
    with caplog.at_level(logging.INFO):
        cremad.prepare(corpus, tmp_path / "data")
    assert "skipping 1076_MTI_SAD_XX, known to be broken" in caplog.text
    assert "31 utterances, but the official distribution has 7442" in caplog.text
    for k in range(1, 6):
        test = DataDir.load(tmp_path / "data" / f"fold{k}_test", label_set=LABEL_SETS["cremad"])
        assert set(test.utt2spk.values()) == {str(1001 + 2 * (k - 1)), str(1002 + 2 * (k - 1))}
        train = DataDir.load(tmp_path / "data" / f"fold{k}_train")
        dev = DataDir.load(tmp_path / "data" / f"fold{k}_dev")
        assert (len(test.utts), len(train.utts), len(dev.utts)) == (6, 22, 2)
    test = DataDir.load(tmp_path / "data" / "fold1_test")
    assert test.utt2emo == {
        "1001_DFA_ANG_XX": "angry",
        "1001_IEO_HAP_HI": "happy",
        "1001_TIE_NEU_XX": "neutral",
        "1002_DFA_ANG_XX": "angry",
        "1002_IEO_HAP_HI": "happy",
        "1002_TIE_NEU_XX": "neutral",
    }
    assert test.text["1001_DFA_ANG_XX"] == "Don't forget a jacket"


def test_missing_folder_bad_names_and_labels(tmp_path):
    with pytest.raises(
        CorpusError, match="AudioWAV: no such directory; expected the CREMA-D corpus"
    ):
        cremad.prepare(tmp_path, tmp_path / "data")
    corpus = make_cremad(tmp_path / "c", actors=4)
    (corpus / "AudioWAV" / "1001_DFA_BOR_XX.wav").write_bytes(b"")
    with pytest.raises(CorpusError, match="emotion BOR is not a CREMA-D emotion"):
        cremad.prepare(corpus, tmp_path / "data", num_folds=2)
    (corpus / "AudioWAV" / "1001_DFA_BOR_XX.wav").rename(corpus / "AudioWAV" / "readme.wav")
    with pytest.raises(CorpusError, match="readme.wav: not a CREMA-D file name"):
        cremad.prepare(corpus, tmp_path / "data", num_folds=2)
    assert not (tmp_path / "data").exists()
