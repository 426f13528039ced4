"""The recogniser on the mini recipe's own models (tiny size): recognising the src_test wavs one by
one through the API gives the stage-3 (and stage-4) predictions and posteriors, from the exp dir
and from a packed model."""

import os
import subprocess
from pathlib import Path

import numpy as np
import pytest
from recipe_copy import copy_recipe

from emorl.data.datadir import DataDir
from emorl.infer import Recognizer, pack_model
from emorl.ser.decode_dir import read_posteriors

ROOT = Path(__file__).resolve().parents[2]
RECIPE = ROOT / "egs" / "mini_emo" / "emo1"
SYSTEMS = ("ser_ser", "adapt_target_norm")


def stage_outputs(exp: Path, dset: str) -> tuple[list[str], dict, dict]:
    labels, posteriors = read_posteriors(exp / f"decode_{dset}")
    predictions = dict(
        line.split() for line in (exp / f"decode_{dset}/predictions").read_text().splitlines()
    )
    return labels, posteriors, predictions


@pytest.mark.slow
def test_recognising_src_test_wavs_gives_the_stage_outputs(tmp_path):
    recipe = copy_recipe(RECIPE, tmp_path / "emo1")
    run = subprocess.run(
        ["./run.sh", "--size", "tiny", "--seeds", "1", "--stop_stage", "4",
         "--adapt_configs", "conf/adapt/target_norm.yaml"],
        cwd=recipe, capture_output=True, text=True,
        env={**os.environ, "MINI_EMO": str(recipe / "db")},
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    wav_scp = DataDir.load(recipe / "data/src_test").wav_scp
    for system in SYSTEMS:
        exp = recipe / "exp/whisper_tiny.en" / system / "seed1"
        labels, posteriors, predictions = stage_outputs(exp, "src_test")
        assert set(posteriors) == set(wav_scp)
        packed = tmp_path / f"{system}.zip"
        pack_model(exp, packed)
        recognizers = {
            "exp dir": Recognizer.from_exp_dir(exp),
            "packed": Recognizer.from_pretrained(packed),
        }
        for how, rec in recognizers.items():
            assert rec.labels == labels
            for utt, path in sorted(wav_scp.items()):
                result = rec.recognize(path)
                assert result.label == predictions[utt], (system, how, utt)
                np.testing.assert_allclose(
                    [result.posteriors[c] for c in labels], posteriors[utt], rtol=0, atol=1e-5
                )
