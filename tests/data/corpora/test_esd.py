"""ESD preparer on a fixture copy of the 20 speaker folders (transcripts in mixed encodings)."""

import pytest
from corpus_fixtures import esd_text, make_esd

from emorl.data.corpora import esd
from emorl.data.corpora._common import CorpusError
from emorl.data.datadir import DataDir
from emorl.data.labels import LABEL_SETS


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    out = tmp_path_factory.mktemp("data")
    esd.prepare(make_esd(tmp_path_factory.mktemp("ESD")), out)
    return out


def test_english_and_mandarin_official_splits(prepared):
    for lang, speakers in (("zh", range(1, 11)), ("en", range(11, 21))):
        for split in ("train", "dev", "test"):
            data = DataDir.load(prepared / f"{lang}_{split}", label_set=LABEL_SETS["esd"])
            assert len(data.utts) == 50
            assert set(data.utt2spk.values()) == {f"{s:04d}" for s in speakers}
            assert sorted(set(data.utt2emo.values())) == sorted(LABEL_SETS["esd"])
    dev = DataDir.load(prepared / "en_dev")
    assert dev.utt2emo["0011_000351"] == "angry"  # evaluation/ is the dev set
    assert dev.wav_scp["0011_000351"].endswith("0011/Angry/evaluation/0011_000351.wav")


def test_transcripts_in_every_encoding(prepared):
    zh = DataDir.load(prepared / "zh_train")
    assert zh.text["0001_000031"] == esd_text(1, 31)  # GB2312
    assert zh.text["0003_001081"] == esd_text(3, 1081)  # UTF-16
    en = DataDir.load(prepared / "en_test")
    assert en.text["0016_000021"] == "Café number 21 is open."  # Latin-1
    assert DataDir.load(prepared / "en_dev").text["0012_000001"] == esd_text(
        12, 1
    )  # spaces, no tabs


def test_one_language_and_missing_pieces(tmp_path):
    corpus = make_esd(tmp_path / "ESD")
    esd.prepare(corpus, tmp_path / "en", languages="en")
    assert sorted(p.name for p in (tmp_path / "en").iterdir() if p.is_dir()) == [
        "en_dev",
        "en_test",
        "en_train",
    ]
    with pytest.raises(ValueError, match="comma-separated list"):
        esd.prepare(corpus, tmp_path / "x", languages="fr")
    (corpus / "0014" / "0014.txt").unlink()
    with pytest.raises(CorpusError, match="0014.txt: missing; the ESD corpus should have it"):
        esd.prepare(corpus, tmp_path / "x", languages="en")
    for wav in (corpus / "0002" / "Sad" / "test").iterdir():
        wav.rename(corpus / "0002" / "Sad" / wav.name)
    (corpus / "0002" / "Sad" / "test").rmdir()
    with pytest.raises(CorpusError, match="0002/Sad/test: no such directory; ESD's split folders"):
        esd.prepare(corpus, tmp_path / "x", languages="zh")
    assert not (tmp_path / "x").exists()
