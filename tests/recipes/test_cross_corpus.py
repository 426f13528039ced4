"""egs/iemocap_meld/emo1: IEMOCAP -> MELD cross-corpus recipe: its data stage on the fixtures,
and scoring MELD references through its shared label map."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from recipe_copy import copy_recipe

from emorl.bin import score
from emorl.data.datadir import DataDir, write_table
from emorl.data.labels import LABEL_SETS, map_labels, read_label_map

ROOT = Path(__file__).resolve().parents[2]
RECIPE = ROOT / "egs" / "iemocap_meld" / "emo1"
LABEL_MAP = RECIPE / "conf" / "label_map_meld_to_iemocap4.txt"
sys.path.insert(0, str(ROOT / "tests" / "data" / "corpora"))
from corpus_fixtures import make_iemocap, make_meld  # noqa: E402

# The template's path.sh installs tools/venv on first use; this stand-in only puts the running
# interpreter and the repository on the paths, so the test never installs anything.
PATH_SH = f'export PATH="{Path(sys.executable).parent}:$PATH" PYTHONPATH="{ROOT}"\n'


def test_recipe_layout():
    for link, target in (("emo.sh", "TEMPLATE/emo1/emo.sh"), ("path.sh", "TEMPLATE/emo1/path.sh")):
        assert (RECIPE / link).is_symlink() and (RECIPE / link).resolve() == ROOT / "egs" / target
    assert (RECIPE / "utils").resolve() == ROOT / "utils"
    assert (RECIPE / "cmd.sh").resolve() == ROOT / "egs/TEMPLATE/emo1/cmd.sh"
    assert (RECIPE / "conf/ser.yaml").read_text() == (
        ROOT / "egs/iemocap/emo1/conf/ser.yaml"
    ).read_text()
    assert os.access(RECIPE / "run.sh", os.X_OK) and os.access(RECIPE / "local/data.sh", os.X_OK)
    db = (RECIPE / "db.sh").read_text()
    assert "IEMOCAP=${IEMOCAP:-}" in db and "MELD=${MELD:-}" in db
    run_sh = (RECIPE / "run.sh").read_text()
    assert '--score_opts "--label_map conf/label_map_meld_to_iemocap4.txt"' in run_sh
    readme = (RECIPE / "README.md").read_text()
    assert "<!-- RESULTS START -->\n<!-- RESULTS END -->" in readme


def test_label_map_leaves_exactly_disgust_fear_surprise_unmapped():
    mapping = read_label_map(LABEL_MAP)
    meld = {f"u{i}": label for i, label in enumerate(LABEL_SETS["meld"] + ("joy", "anger"))}
    mapped, unmapped = map_labels(meld, mapping, LABEL_SETS["iemocap4"])
    assert unmapped == {"disgust": 1, "fear": 1, "surprise": 1}
    assert sorted(mapped.values()) == ["angry", "angry", "happy", "happy", "neutral", "sad"]


def run_stage1(recipe: Path, env: dict, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("IEMOCAP", "MELD")} | env
    return subprocess.run(
        ["./run.sh", "--stage", "1", "--stop_stage", "1", *args],
        cwd=recipe,
        env=env,
        capture_output=True,
        text=True,
    )


def test_stage1_prepares_both_corpora_under_flat_set_names(tmp_path):
    recipe = copy_recipe(RECIPE, tmp_path / "emo1", PATH_SH)
    missing = run_stage1(recipe, {"IEMOCAP": str(tmp_path)})
    assert missing.returncode != 0
    assert "set MELD in db.sh (or export it)" in missing.stderr

    env = {
        "IEMOCAP": str(make_iemocap(tmp_path / "IEMOCAP_full_release")),
        "MELD": str(make_meld(tmp_path / "MELD.Raw")),
    }
    result = run_stage1(recipe, env)
    assert result.returncode == 0, result.stderr[-3000:]
    data = recipe / "data"
    iemocap4, meld = LABEL_SETS["iemocap4"], LABEL_SETS["meld"]
    # IEMOCAP fixture: 5 iemocap4 utterances per session; Sessions 1-4 give train + dev.
    train = DataDir.load(data / "iemocap_train", label_set=iemocap4)
    dev = DataDir.load(data / "iemocap_dev", label_set=iemocap4)
    test = DataDir.load(data / "iemocap_test", label_set=iemocap4)
    assert (len(train.utts), len(dev.utts), len(test.utts)) == (18, 2, 5)
    assert {u[:5] for u in train.utts + dev.utts} == {"Ses01", "Ses02", "Ses03", "Ses04"}
    assert {u[:5] for u in test.utts} == {"Ses05"}
    # MELD test keeps its own labels (scored through the label map), wavs under the recipe.
    meld_test = DataDir.load(data / "meld_test", label_set=meld, check_audio=True)
    assert meld_test.utt2emo == {
        "Monica-test_dia0_utt0": "fear",
        "Phoebe-test_dia0_utt1": "disgust",
    }
    assert all(p.startswith(str(recipe / "wav" / "meld")) for p in meld_test.wav_scp.values())
    assert len(DataDir.load(data / "meld_train", label_set=meld).utts) == 3
    assert "data/meld_test: 2 utterances, 2 speakers; labels: disgust=1 fear=1" in result.stdout

    # Without --eval_label_set, MELD's labels fail the iemocap4 validation of stage 1.
    strict = run_stage1(recipe, env, "--eval_label_set", "")
    assert strict.returncode != 0
    assert "done with the same command" in strict.stderr  # data.sh is not rerun
    error = "data/meld_test/utt2emo:1: utterance Monica-test_dia0_utt0 has label 'fear'"
    assert error in strict.stderr


def test_score_reports_unmapped_meld_labels_with_counts(tmp_path, capfd):
    references = {
        "a": "neutral",
        "b": "happy",
        "c": "angry",
        "d": "sad",
        "e": "disgust",
        "f": "disgust",
        "g": "fear",
        "h": "surprise",
    }
    predictions = dict.fromkeys(references, "sad") | {"a": "neutral", "b": "happy"}
    data_dir, decode_dir = tmp_path / "data", tmp_path / "decode"
    data_dir.mkdir()
    decode_dir.mkdir()
    write_table(data_dir / "utt2emo", references)
    write_table(decode_dir / "predictions", predictions)
    (decode_dir / "labels").write_text("".join(f"{c}\n" for c in LABEL_SETS["iemocap4"]))
    score.main(
        ["--data_dir", str(data_dir), "--decode_dir", str(decode_dir)]
        + ["--label_map", str(LABEL_MAP)]
    )
    scores = json.loads((decode_dir / "scores.json").read_text())
    assert scores["unmapped"] == {"disgust": 2, "fear": 1, "surprise": 1}
    assert scores["num_utts"] == 4
    # neutral, happy, sad right, angry predicted sad: recalls 1, 1, 1, 0.
    assert scores["ua"] == pytest.approx(0.75) and scores["wa"] == pytest.approx(0.75)
    log = capfd.readouterr().err  # score logs to stderr
    assert "4 references left out" in log and "{'disgust': 2, 'fear': 1, 'surprise': 1}" in log
