"""The pieces the corpus preparers share: ids, split helpers, the write guard, audio extraction."""

import json

import av
import numpy as np
import pytest
from corpus_fixtures import write_video, write_wav

from emorl.data.corpora import _common
from emorl.data.corpora._common import CorpusError, Utt


def test_clean_id_keeps_letters_of_any_script_and_never_a_dash():
    assert _common.clean_id("Mr. Geller") == "Mr_Geller"
    assert _common.clean_id("anjia_房似锦") == "anjia_房似锦"
    assert _common.clean_id(" Ross-2 ") == "Ross_2"
    with pytest.raises(CorpusError, match="cannot make an id"):
        _common.clean_id("--")


def test_speaker_blocks_are_contiguous_and_balanced():
    actors = [f"Actor_{i:02d}" for i in range(24, 0, -1)]
    blocks = _common.speaker_blocks(actors, 4)
    assert blocks[0] == [f"Actor_{i:02d}" for i in range(1, 7)]
    assert [len(b) for b in _common.speaker_blocks("abcde", 2)] == [3, 2]
    with pytest.raises(CorpusError, match="cannot make 1 folds"):
        _common.speaker_blocks("abc", 1)


def test_holdout_is_seeded():
    utts = [f"u{i}" for i in range(50)]
    assert _common.holdout(utts, 0.1, 3) == _common.holdout(reversed(utts), 0.1, 3)
    assert _common.holdout(utts, 0.1, 3) != _common.holdout(utts, 0.1, 4)
    assert len(_common.holdout(utts, 0.1, 0)) == 5
    assert len(_common.holdout(utts[:3], 0.01, 0)) == 1
    assert _common.holdout(utts, 0.0, 0) == set() == _common.holdout(utts[:1], 0.5, 0)


def test_folds_partition_every_utterance():
    utt2group = {f"g{g}-u{i}": f"g{g}" for g in range(3) for i in range(10)}
    sets = _common.folds(utt2group, [["g0"], ["g1"], ["g2"]], 0.2, 0)
    for k in (1, 2, 3):
        parts = [set(sets[f"fold{k}_{p}"]) for p in ("train", "dev", "test")]
        assert set.union(*parts) == set(utt2group)
        assert sum(len(p) for p in parts) == 30
        assert {utt2group[u] for u in parts[2]} == {f"g{k - 1}"}
        assert len(parts[1]) == 4


def utts_of(tmp_path, spks, label="happy"):
    wav = write_wav(tmp_path / "a.wav")
    return {utt: Utt(spk=spk, wav=wav, emo=label) for utt, spk in spks.items()}


def test_write_sets_checks_everything_before_writing(tmp_path):
    good = utts_of(tmp_path, {"x-1": "x", "y-1": "y"})
    interleaved = utts_of(tmp_path, {"a-1": "x", "b-1": "y", "c-1": "x"})
    with pytest.raises(CorpusError, match="c-1 of speaker x does not sort next to"):
        _common.write_sets(
            tmp_path / "data", "c", tmp_path, {}, {"good": good, "bad": interleaved}, None
        )
    with pytest.raises(CorpusError, match="label 'happy', not in the label set"):
        _common.write_sets(tmp_path / "data", "c", tmp_path, {}, {"good": good}, ["sad"])
    with pytest.raises(CorpusError, match="set empty is empty"):
        _common.write_sets(tmp_path / "data", "c", tmp_path, {}, {"good": good, "empty": {}}, None)
    assert not (tmp_path / "data").exists()
    partial = {**good, "z-1": Utt(spk="z", wav=good["x-1"].wav)}
    with pytest.raises(CorpusError, match="1 utterances have no emo"):
        _common.write_sets(tmp_path / "data", "c", tmp_path, {}, {"s": partial}, None)


def test_completed_guard_keyed_on_corpus_options_and_sets(tmp_path):
    sets = {"train": utts_of(tmp_path, {"x-1": "x"})}
    _common.write_sets(tmp_path / "data", "c", tmp_path, {"a": 1}, sets, None)
    marker = json.loads((tmp_path / "data" / ".completed").read_text())
    assert marker == {
        "corpus": "c",
        "corpus_dir": str(tmp_path.resolve()),
        "options": {"a": 1},
        "sets": ["train"],
    }
    assert _common.is_completed(tmp_path / "data", "c", tmp_path, {"a": 1})
    assert not _common.is_completed(tmp_path / "data", "c", tmp_path, {"a": 2})
    assert not _common.is_completed(tmp_path / "data", "d", tmp_path, {"a": 1})
    (tmp_path / "data" / "train" / "utt2spk").unlink()
    assert not _common.is_completed(tmp_path / "data", "c", tmp_path, {"a": 1})


def test_extract_audio_resamples_to_16k_mono(tmp_path):
    _common.extract_audio(
        write_video(tmp_path / "a.avi", seconds=0.5, sr=22050), tmp_path / "a.wav"
    )
    import soundfile

    wave, sr = soundfile.read(tmp_path / "a.wav")
    assert sr == 16000 and wave.ndim == 1 and abs(len(wave) - 8000) < 200
    assert np.abs(wave).max() > 0.1


def test_extract_reports_files_without_audio(tmp_path):
    with av.open(str(tmp_path / "v.mp4"), "w") as container:
        video = container.add_stream("mpeg4", rate=10)
        video.width, video.height = 32, 32
        frame = av.VideoFrame.from_ndarray(np.zeros((32, 32, 3), np.uint8), format="rgb24")
        for packet in [*video.encode(frame), *video.encode(None)]:
            container.mux(packet)
    problems = _common.extract_all(
        {
            "v": (tmp_path / "v.mp4", tmp_path / "v.wav"),
            "m": (tmp_path / "m.mp4", tmp_path / "m.wav"),
        }
    )
    assert problems == {
        "v": f"{tmp_path / 'v.mp4'}: no audio stream",
        "m": f"{tmp_path / 'm.mp4'}: file does not exist",
    }
    assert not (tmp_path / "v.wav").exists()


def test_read_text_tries_the_encodings(tmp_path):
    (tmp_path / "a.txt").write_text("中立", encoding="utf-16")
    (tmp_path / "b.txt").write_text("中立", encoding="gb2312")
    assert _common.read_text(tmp_path / "a.txt") == "中立"
    assert _common.read_text(tmp_path / "b.txt", ("utf-8", "gb18030")) == "中立"
    with pytest.raises(CorpusError, match="cannot decode"):
        _common.read_text(tmp_path / "b.txt")
