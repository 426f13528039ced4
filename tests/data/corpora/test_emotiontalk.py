"""EmotionTalk preparer on a fixture copy of the audio annotations (Audio/json, Audio/wav)."""

import json

import pytest
from corpus_fixtures import emotiontalk_caption, make_emotiontalk

from emorl.data.corpora import emotiontalk
from emorl.data.corpora._common import CorpusError
from emorl.data.datadir import DataDir
from emorl.data.labels import LABEL_SETS


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return make_emotiontalk(tmp_path_factory.mktemp("EmotionTalk"))


def test_group_splits_labels_and_captions(corpus, tmp_path):
    emotiontalk.prepare(corpus, tmp_path)
    train, dev, test = (
        DataDir.load(tmp_path / s, label_set=LABEL_SETS["emotiontalk"])
        for s in ("train", "dev", "test")
    )
    assert train.utt2emo == {
        "S03-G00002_S03_001": "happy",
        "S03-G00002_S03_003": "disgust",
        "S04-G00002_S04_002": "angry",  # 生气
    }
    assert set(dev.utt2spk.values()) == {"S01", "S12"}
    assert sorted(test.utt2emo.values()) == ["fear", "surprise"]
    # captions given as aspects, as plain text and as a list all give the overall caption
    for utt, number in (
        ("S03-G00002_S03_001", 1),
        ("S04-G00002_S04_002", 2),
        ("S03-G00002_S03_003", 3),
    ):
        assert train.utt2caption[utt] == emotiontalk_caption("G00002", number, "overall")
    assert train.text["S03-G00002_S03_001"] == "第1句话"


def test_other_aspect_and_no_captions(corpus, tmp_path):
    emotiontalk.prepare(corpus, tmp_path / "style", caption_aspect="style")
    test = DataDir.load(tmp_path / "style" / "test")
    assert test.utt2caption["S05-G00003_S05_001"] == emotiontalk_caption("G00003", 1, "style")
    emotiontalk.prepare(corpus, tmp_path / "emo", captions=False)
    assert DataDir.load(tmp_path / "emo" / "test").utt2caption is None


def test_missing_layout_and_unknown_emotion(tmp_path):
    with pytest.raises(
        CorpusError, match="Audio/json: no such directory; expected the EmotionTalk"
    ):
        emotiontalk.prepare(tmp_path, tmp_path / "data")
    corpus = make_emotiontalk(tmp_path / "et")
    path = corpus / "Audio" / "json" / "G00003" / "G00003_S06_002.json"
    record = json.loads(path.read_text())
    path.write_text(json.dumps({**record, "emotion_result": "Bored"}))
    with pytest.raises(CorpusError, match="G00003_S06_002.json: emotion_result 'Bored'"):
        emotiontalk.prepare(corpus, tmp_path / "data")
    path.write_text(json.dumps({**record, "sourceAttr": None}))
    with pytest.raises(CorpusError, match="no caption"):
        emotiontalk.prepare(corpus, tmp_path / "data")
    assert not (tmp_path / "data").exists()
