"""CASIA preparer on a fixture copy of the speaker/emotion folders."""

import pytest
from corpus_fixtures import make_casia

from emorl.data.corpora import casia
from emorl.data.corpora._common import CorpusError
from emorl.data.datadir import DataDir
from emorl.data.labels import LABEL_SETS


def test_leave_one_speaker_out_with_english_and_chinese_folders(tmp_path):
    casia.prepare(make_casia(tmp_path / "db"), tmp_path / "data")
    speakers = sorted(["liuchanhg", "wangzhe", "zhaoquanyin", "ZhaoZuoxiang"])
    for k, spk in enumerate(speakers, 1):
        test = DataDir.load(tmp_path / "data" / f"fold{k}_test", label_set=LABEL_SETS["casia"])
        assert set(test.utt2spk.values()) == {spk}
        assert sorted(test.utt2emo.values()) == sorted(LABEL_SETS["casia"] * 2)
        train = DataDir.load(tmp_path / "data" / f"fold{k}_train")
        dev = DataDir.load(tmp_path / "data" / f"fold{k}_dev")
        assert (len(test.utts), len(train.utts), len(dev.utts)) == (12, 32, 4)
        assert spk not in set(train.utt2spk.values()) | set(dev.utt2spk.values())
    test = DataDir.load(tmp_path / "data" / "fold2_test")
    assert test.utt2emo["liuchanhg-fear_201"] == "fear"
    wangzhe = DataDir.load(tmp_path / "data" / "fold3_test")
    assert wangzhe.utt2emo["wangzhe-surprise_202"] == "surprise"
    assert wangzhe.wav_scp["wangzhe-surprise_202"].endswith("wangzhe/惊讶/202.wav")


def test_unknown_emotion_folder_and_empty_dir(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(CorpusError, match="no wav files; expected one folder per speaker"):
        casia.prepare(tmp_path / "empty", tmp_path / "data")
    corpus = make_casia(tmp_path / "db")
    (corpus / "CASIA" / "wangzhe" / "bored").mkdir()
    (corpus / "CASIA" / "wangzhe" / "bored" / "201.wav").write_bytes(b"")
    with pytest.raises(CorpusError, match="folder 'bored' is not a CASIA emotion"):
        casia.prepare(corpus, tmp_path / "data")
