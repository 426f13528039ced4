"""MELD preparer on a fixture copy of MELD.Raw (mp4 clips decoded with PyAV)."""

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
import soundfile
from corpus_fixtures import make_meld, write_csv

from emorl.data.corpora import meld
from emorl.data.corpora._common import CorpusError
from emorl.data.datadir import DataDir
from emorl.data.labels import LABEL_SETS

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "tests" / "recipes"))
from recipe_copy import copy_recipe  # noqa: E402


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    root = tmp_path_factory.mktemp("meld")
    corpus = make_meld(root / "MELD.Raw")
    meld.prepare(corpus, root / "recipe" / "data", nj=1)
    return root / "recipe"


def load(recipe, name):
    return DataDir.load(recipe / "data" / name, label_set=LABEL_SETS["meld"], check_audio=True)


def test_official_splits_labels_speakers_text(prepared):
    train, dev, test = (load(prepared, s) for s in ("train", "dev", "test"))
    assert train.utt2emo == {
        "Chandler-train_dia0_utt0": "happy",
        "Joey-train_dia1_utt0": "angry",
        "The_Interviewer-train_dia0_utt1": "neutral",
    }
    assert dev.utt2emo == {"Rachel-dev_dia1_utt0": "surprise", "Ross-dev_dia0_utt0": "sad"}
    assert test.utt2emo == {"Monica-test_dia0_utt0": "fear", "Phoebe-test_dia0_utt1": "disgust"}
    assert train.utt2spk["The_Interviewer-train_dia0_utt1"] == "The_Interviewer"
    assert train.text["Chandler-train_dia0_utt0"] == "Oh my God, he’s lost it."


def test_audio_extracted_to_16k_mono_wavs_beside_data(prepared):
    test = load(prepared, "test")
    path = test.wav_scp["Phoebe-test_dia0_utt1"]  # a clip with a video stream too
    assert path == str(prepared / "wav" / "meld" / "test" / "dia0_utt1.wav")
    info = soundfile.info(path)
    assert (info.samplerate, info.channels) == (16000, 1)
    assert 0.15 < info.duration < 0.3


def test_known_broken_clips_skipped_and_totals_warned(tmp_path, caplog):
    corpus = make_meld(tmp_path / "MELD.Raw")
    with caplog.at_level(logging.INFO):
        meld.prepare(corpus, tmp_path / "data", nj=1)
    assert "skipping Ross-train_dia125_utt3, known to be broken" in caplog.text
    assert "skipping Monica-dev_dia110_utt7, known to be broken" in caplog.text
    assert "MELD dev: 2 utterances, but the official distribution has 1108" in caplog.text
    # extraction happens once: a rerun with other options finds the wavs already there
    wav = tmp_path / "wav" / "meld" / "dev" / "dia0_utt0.wav"
    before = wav.stat().st_mtime_ns
    (tmp_path / "data" / ".completed").unlink()
    meld.prepare(corpus, tmp_path / "data", nj=1)
    assert wav.stat().st_mtime_ns == before


def test_unlisted_broken_clip_stops_with_count(tmp_path, caplog):
    corpus = make_meld(tmp_path / "MELD.Raw")
    (corpus / "output_repeated_splits_test" / "dia0_utt0.mp4").write_bytes(b"garbage")
    with caplog.at_level(logging.ERROR), pytest.raises(CorpusError, match="1 of 9 audio files"):
        meld.prepare(corpus, tmp_path / "data", nj=1)
    assert "Monica-test_dia0_utt0" in caplog.text and "cannot decode the audio" in caplog.text
    assert not (tmp_path / "data").exists()


def test_wrong_path_missing_csv_and_unknown_emotion(tmp_path):
    with pytest.raises(CorpusError, match="expected the MELD corpus: MELD.Raw"):
        meld.prepare(tmp_path / "nope", tmp_path / "data")
    corpus = make_meld(tmp_path / "MELD.Raw")
    (corpus / "dev_sent_emo.csv").unlink()
    with pytest.raises(CorpusError, match="dev_sent_emo.csv: missing"):
        meld.prepare(corpus, tmp_path / "data")
    write_csv(corpus / "dev_sent_emo.csv", meld.COLUMNS[:3], [["x", "y", "z"]])
    with pytest.raises(CorpusError, match="lacks the columns"):
        meld.prepare(corpus, tmp_path / "data")
    rows = (corpus / "test_sent_emo.csv").read_text().replace(",fear,", ",happiness,")
    (corpus / "test_sent_emo.csv").write_text(rows)
    make_meld(tmp_path / "MELD.Raw")  # restores dev
    (corpus / "test_sent_emo.csv").write_text(rows)
    with pytest.raises(CorpusError, match=r"test_sent_emo.csv:2: emotion 'happiness'"):
        meld.prepare(corpus, tmp_path / "data")
    assert not (tmp_path / "data").exists()


def test_recipe_stage1_runs_on_the_distribution_with_its_broken_clips(tmp_path):
    """egs/meld/emo1 stage 1 (data.sh, then validation with audio headers) on a MELD.Raw whose
    train dia125_utt3 is corrupt and dev dia110_utt7 missing, as distributed."""
    path_sh = f'export PATH="{Path(sys.executable).parent}:$PATH" PYTHONPATH="{ROOT}"\n'
    recipe = copy_recipe(ROOT / "egs" / "meld" / "emo1", tmp_path / "emo1", path_sh)
    env = {k: v for k, v in os.environ.items() if k != "MELD"}
    env["MELD"] = str(make_meld(tmp_path / "MELD.Raw"))
    result = subprocess.run(
        ["./run.sh", "--stage", "1", "--stop_stage", "1", "--local_data_opts", "--nj 1"],
        cwd=recipe,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "skipping Ross-train_dia125_utt3, known to be broken" in result.stderr
    assert "skipping Monica-dev_dia110_utt7, known to be broken" in result.stderr
    assert "dia110_utt7.mp4: file does not exist" in result.stderr
    assert "data/train: 3 utterances, 3 speakers; labels: angry=1 happy=1 neutral=1" in (
        result.stdout
    )
    assert "data/test: 2 utterances" in result.stdout
