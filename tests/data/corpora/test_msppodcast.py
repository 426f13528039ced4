"""MSP-Podcast preparer on a fixture copy of a release (Audios/, Labels/, Transcripts/)."""

import pytest
from corpus_fixtures import make_msppodcast

from emorl.data.corpora import msppodcast
from emorl.data.corpora._common import CorpusError
from emorl.data.datadir import DataDir
from emorl.data.labels import LABEL_SETS


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return make_msppodcast(tmp_path_factory.mktemp("MSP-Podcast"))


def test_official_partitions_eight_classes(corpus, tmp_path):
    msppodcast.prepare(corpus, tmp_path)
    sets = {
        s: DataDir.load(tmp_path / s, label_set=LABEL_SETS["msppodcast"])
        for s in ("train", "dev", "test1", "test2")
    }
    assert sets["train"].utt2emo == {
        "MSP-PODCAST_0002_0001": "happy",
        "spk127-MSP-PODCAST_0001_0008": "neutral",
        "spk127-MSP-PODCAST_0001_0010": "angry",
        "spk45-MSP-PODCAST_0002_0002": "contempt",
    }
    assert sets["dev"].utt2emo == {
        "spk300-MSP-PODCAST_0004_0001": "sad",
        "spk300-MSP-PODCAST_0004_0002": "surprise",
    }
    assert sorted(sets["test1"].utt2emo.values()) == ["angry", "disgust", "fear"]
    assert len(sets["test2"].utts) == 2
    # an unknown speaker is its own speaker
    assert sets["train"].utt2spk["MSP-PODCAST_0002_0001"] == "MSP-PODCAST_0002_0001"
    assert sets["train"].text["spk127-MSP-PODCAST_0001_0008"] == "turn 0001_0008 of the podcast"


def test_four_class_protocol(corpus, tmp_path):
    msppodcast.prepare(corpus, tmp_path, label_set="iemocap4")
    train = DataDir.load(tmp_path / "train", label_set=LABEL_SETS["iemocap4"])
    assert sorted(train.utt2emo.values()) == ["angry", "happy", "neutral"]
    assert DataDir.load(tmp_path / "test1").utt2emo == {"spk12-MSP-PODCAST_0005_0003": "angry"}


def test_missing_labels_unknown_class_and_old_file_name(tmp_path):
    corpus = make_msppodcast(tmp_path / "msp")
    labels = corpus / "Labels" / "labels_consensus.csv"
    labels.rename(corpus / "Labels" / "labels_concensus.csv")
    msppodcast.prepare(corpus, tmp_path / "old")  # releases before 1.10 spell it so
    (corpus / "Labels" / "labels_concensus.csv").unlink()
    with pytest.raises(CorpusError, match="labels_consensus.csv: missing"):
        msppodcast.prepare(corpus, tmp_path / "data")
    make_msppodcast(corpus)
    labels.write_text(labels.read_text().replace(",U,", ",Q,"))
    with pytest.raises(CorpusError, match=r"labels_consensus.csv:9: EmoClass 'Q'"):
        msppodcast.prepare(corpus, tmp_path / "data")
    assert not (tmp_path / "data").exists()
