"""The mini recipe end to end at CI size: every implemented stage, then a free rerun."""

import json
import os
import subprocess
from pathlib import Path

import pytest
from recipe_copy import copy_recipe

ROOT = Path(__file__).resolve().parents[2]
RECIPE = ROOT / "egs" / "mini_emo" / "emo1"


def run(recipe: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["./run.sh", "--size", "ci", "--seeds", "1", *args],
        cwd=recipe,
        capture_output=True,
        text=True,
        env={**os.environ, "MINI_EMO": str(recipe / "db")},
    )


@pytest.mark.slow
def test_mini_recipe_runs_every_stage_and_reruns_for_free(tmp_path):
    recipe = copy_recipe(RECIPE, tmp_path / "emo1")
    # The audio-LM stages (5-7) have their own test: test_lalm_recipe.py.
    adapt = ["--adapt_configs", "conf/adapt/bgrpo.yaml", "--skip_lalm", "true"]
    first = run(recipe, *adapt)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]

    for dset in ("src_train", "src_dev", "src_test", "tgt_dev", "tgt_test", "tgt_train"):
        assert (recipe / "data" / dset / "utt2emo").is_file()
        assert (recipe / "dump" / "whisper_tiny.en" / dset / "feats.scp").is_file()
    exp = recipe / "exp" / "whisper_tiny.en"
    for system in ("ser_ser", "adapt_bgrpo"):
        decode = exp / system / "seed1" / "decode_src_test"
        scores = json.loads((decode / "scores.json").read_text())
        assert scores["num_utts"] > 0
        # 6 balanced classes: chance is 1/6; pretrained Whisper features do much better in-domain.
        assert scores["ua"] > 0.3, (system, scores["ua"])
    readme = (recipe / "README.md").read_text()
    block = readme.split("<!-- RESULTS START -->")[1].split("<!-- RESULTS END -->")[0]
    assert "adapt_bgrpo" in block or "bgrpo" in block
    assert "tgt_test" in block

    second = run(recipe, *adapt, "--stop_stage", "4")
    assert second.returncode == 0, second.stderr[-3000:]
    assert second.stderr.count("done with the same command") >= 10
    assert "Training" not in second.stderr

    # A changed config redoes its unit and everything that reads the unit's model.
    conf = recipe / "conf" / "ser.yaml"
    conf.write_text(conf.read_text().replace("dropout: 0.2", "dropout: 0.3"))
    third = run(recipe, *adapt, "--stage", "3", "--stop_stage", "4")
    assert third.returncode == 0, third.stderr[-3000:]
    ser = "exp/whisper_tiny.en/ser_ser/seed1"
    assert f"skip {ser}:" not in third.stderr
    assert f"skip {ser}/decode_src_test:" not in third.stderr
    assert "skip exp/whisper_tiny.en/adapt_bgrpo/seed1:" not in third.stderr


@pytest.mark.slow
def test_target_shift_keeps_its_data_dirs_apart_from_the_default_ones(tmp_path):
    recipe = copy_recipe(RECIPE, tmp_path / "emo1")

    def stage1(*args: str) -> subprocess.CompletedProcess:
        done = run(recipe, "--size", "tiny", "--nj", "1", "--stop_stage", "1", *args)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        return done

    stage1()
    default_wavs = (recipe / "data" / "tgt_test" / "wav.scp").read_text()
    stage1("--target_shift", "intensity")
    shifted = recipe / "data" / "target_intensity"
    shifted_wavs = (shifted / "tgt_test" / "wav.scp").read_text()
    assert "/wav_intensity/" in shifted_wavs and "/wav_intensity/" not in default_wavs
    completed = json.loads((shifted / ".completed").read_text())
    assert completed["options"]["target_shift"] == "intensity"
    # The default data dirs are untouched, so going back to them redoes nothing.
    assert (recipe / "data" / "tgt_test" / "wav.scp").read_text() == default_wavs
    again = stage1()
    assert "skip data: done with the same command" in again.stderr
