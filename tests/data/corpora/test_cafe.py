"""CaFE preparer on fixture copies of the 48 kHz (wav) and 192 kHz (aiff) versions."""

import pytest
from corpus_fixtures import make_cafe

from emorl.data.corpora import cafe
from emorl.data.corpora._common import CorpusError
from emorl.data.datadir import DataDir
from emorl.data.labels import LABEL_SETS


def test_folds_labels_and_sentences(tmp_path):
    cafe.prepare(make_cafe(tmp_path / "CaFE_48k"), tmp_path / "data", num_folds=2)
    test = DataDir.load(tmp_path / "data" / "fold1_test", label_set=LABEL_SETS["cafe"])
    assert test.utt2emo == {
        "01-C-1-1": "angry",
        "01-C-2-1": "angry",
        "01-N-3": "neutral",
        "01-T-2-6": "sad",
        "02-C-1-1": "angry",
        "02-C-2-1": "angry",
        "02-N-3": "neutral",
        "02-T-2-6": "sad",
    }
    assert set(test.utt2spk.values()) == {"01", "02"}
    assert test.text["01-N-3"] == "Trois cygnes aveugles au bord du lac"
    assert len(DataDir.load(tmp_path / "data" / "fold1_train").utts) == 7
    assert len(DataDir.load(tmp_path / "data" / "fold1_dev").utts) == 1


def test_aiff_version(tmp_path):
    corpus = make_cafe(tmp_path / "CaFE_192k", actors=2, ext="aiff")
    with pytest.raises(CorpusError, match=r"no CaFE files; expected .*--audio_ext aiff"):
        cafe.prepare(corpus, tmp_path / "data", num_folds=2)
    cafe.prepare(corpus, tmp_path / "data", num_folds=2, audio_ext="aiff")
    assert DataDir.load(tmp_path / "data" / "fold2_test").wav_scp["02-T-2-6"].endswith(".aiff")


def test_default_folds_need_twelve_actors_and_bad_names(tmp_path):
    corpus = make_cafe(tmp_path / "CaFE_48k")
    with pytest.raises(CorpusError, match="cannot make 6 folds from 4 speakers"):
        cafe.prepare(corpus, tmp_path / "data")
    (corpus / "Neutre" / "01-X-3.wav").write_bytes(b"")
    with pytest.raises(CorpusError, match="emotion code 'X' or sentence '3' is not a CaFE code"):
        cafe.prepare(corpus, tmp_path / "data", num_folds=2)
    assert not (tmp_path / "data").exists()
