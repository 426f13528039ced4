"""M3ED preparer on a fixture copy of annotation.json, splitInfo/ and modality_speech/."""

import json
import logging

import pytest
from corpus_fixtures import make_m3ed

from emorl.data.corpora import m3ed
from emorl.data.corpora._common import CorpusError
from emorl.data.datadir import DataDir
from emorl.data.labels import LABEL_SETS


def test_series_splits_labels_and_speakers(tmp_path):
    m3ed.prepare(make_m3ed(tmp_path / "m3ed"), tmp_path / "data")
    train = DataDir.load(tmp_path / "data" / "train", label_set=LABEL_SETS["m3ed"])
    assert train.utt2emo == {
        "anjia_房似锦-anjia_1_1": "happy",
        "anjia_房似锦-anjia_1_3": "neutral",
        "anjia_徐文昌-anjia_1_2": "angry",
    }
    assert train.text["anjia_房似锦-anjia_1_1"] == "anjia_1_1 的台词"
    assert train.wav_scp["anjia_徐文昌-anjia_1_2"].endswith("modality_speech/B_anjia_1_2.wav")
    dev = DataDir.load(tmp_path / "data" / "dev")
    # a speaker missing from SpeakerInfo is named by dialog and letter
    assert set(dev.utt2spk.values()) == {"shaonianpai_林大为", "shaonianpai_shaonianpai_1_B"}
    test = DataDir.load(tmp_path / "data" / "test")
    assert sorted(test.utt2emo.values()) == ["disgust", "fear", "surprise"]


def test_empty_clip_stops_unless_skipped(tmp_path, caplog):
    corpus = make_m3ed(tmp_path / "m3ed")
    (corpus / "modality_speech" / "B_huanlesong_1_2.wav").write_bytes(
        (corpus / "modality_speech" / "B_huanlesong_1_2.wav").read_bytes()[:44]
    )
    with caplog.at_level(logging.ERROR), pytest.raises(CorpusError, match="1 of 8 audio files"):
        m3ed.prepare(corpus, tmp_path / "data")
    assert "B_huanlesong_1_2.wav: no audio samples" in caplog.text
    m3ed.prepare(corpus, tmp_path / "data", skip_bad_media=True)
    assert len(DataDir.load(tmp_path / "data" / "test").utts) == 2


def test_missing_split_file_and_unknown_emotion(tmp_path):
    corpus = make_m3ed(tmp_path / "m3ed")
    (corpus / "splitInfo" / "movie_list_val.txt").unlink()
    with pytest.raises(CorpusError, match="movie_list_val.txt: missing"):
        m3ed.prepare(corpus, tmp_path / "data")
    corpus = make_m3ed(tmp_path / "m3ed")
    annotation = json.loads((corpus / "annotation.json").read_text())
    annotation["anjia"]["anjia_1"]["Dialog"]["anjia_1_2"]["EmoAnnotation"]["final_main_emo"] = (
        "Bored"
    )
    (corpus / "annotation.json").write_text(json.dumps(annotation))
    with pytest.raises(CorpusError, match="anjia/anjia_1/anjia_1_2: emotion 'Bored'"):
        m3ed.prepare(corpus, tmp_path / "data")
    assert not (tmp_path / "data").exists()
